"""Tables and query functions. Imports nothing of ours: the bottom layer of the architecture."""

from models.audit import AuditEntry, record_audit
from models.directory import DirectoryVersion, SenderProfile
from models.identity import Identity, Platform
from models.inbound import InboundMessage, InboundStatus
from models.login import LoginToken
from models.organisation import Organisation, OrgLevel, Unit
from models.person import Membership, Person, PersonKind, Role, RoleKind
from models.token import AccessToken

__all__ = [
    "AccessToken",
    "AuditEntry",
    "DirectoryVersion",
    "Identity",
    "InboundMessage",
    "InboundStatus",
    "LoginToken",
    "Membership",
    "OrgLevel",
    "Organisation",
    "Person",
    "PersonKind",
    "Platform",
    "Role",
    "RoleKind",
    "SenderProfile",
    "Unit",
    "record_audit",
]
