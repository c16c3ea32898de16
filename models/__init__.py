"""Tables and query functions. Imports nothing of ours: the bottom layer of the architecture."""

from models.api_token import ApiToken
from models.audit import AuditEntry, record_audit
from models.conversation import Conversation
from models.delivery import Channel, Delivery, DeliveryStatus, Purpose
from models.directory import DirectoryVersion, SenderProfile
from models.engagement import Engagement, EngagementKind
from models.identity import Identity, Platform
from models.inbound import InboundMessage, InboundStatus
from models.inquiry import Inquiry
from models.login import LoginToken
from models.meeting import Meeting, MeetingKind, MeetingSeries
from models.meeting_photo import MeetingPhoto
from models.meeting_record import MeetingRecord
from models.notice import Notice, NoticeStatus, Urgency
from models.official_days import OfficialDay
from models.organisation import Organisation, OrgLevel, Unit
from models.person import Membership, Person, PersonKind, Role, RoleKind
from models.subject import Subject, SubjectKind
from models.token import AccessToken
from models.waiting_report import WaitingReport

__all__ = [
    "AccessToken",
    "ApiToken",
    "AuditEntry",
    "Channel",
    "Conversation",
    "Delivery",
    "DeliveryStatus",
    "DirectoryVersion",
    "Engagement",
    "EngagementKind",
    "Identity",
    "InboundMessage",
    "InboundStatus",
    "Inquiry",
    "LoginToken",
    "Meeting",
    "MeetingKind",
    "MeetingPhoto",
    "MeetingRecord",
    "MeetingSeries",
    "Membership",
    "Notice",
    "NoticeStatus",
    "OfficialDay",
    "OrgLevel",
    "Organisation",
    "Person",
    "PersonKind",
    "Platform",
    "Purpose",
    "Role",
    "RoleKind",
    "SenderProfile",
    "Subject",
    "SubjectKind",
    "Unit",
    "Urgency",
    "WaitingReport",
    "record_audit",
]
