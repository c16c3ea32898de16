"""The outbox table: one row per (subject, person, channel, purpose, round), written before anything
is sent. Every write of a row goes through models/outbox.py; this module holds the table and reads.

A row is pending, in flight (claimed by one dispatcher, with a lease), sending (its request may be
out: marked durably, a batch at a time, just before the requests go) or settled (sent, failed, fell
back to another channel, or unknown). A dispatcher that dies leaves rows in flight or sending: when
the lease runs out, rows it had claimed but not sent are claimed again, so nothing is lost; only a
row whose request may have reached WeChat, on a channel that cannot drop a repeat, ends unknown."""

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, String, Text, UniqueConstraint, and_, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.subject import Subject, SubjectKind


class Channel(StrEnum):
    work_app = "work_app"  # WeCom app message
    mp_custom = "mp_custom"  # Official Account customer-service message (48 h window)
    mp_template = "mp_template"  # Official Account template message (short fields + link)
    robot = "robot"  # the organisation's WeCom group robot


class DeliveryStatus(StrEnum):
    pending = "pending"
    in_flight = "in_flight"  # claimed by a dispatcher; nothing sent yet
    sending = "sending"  # its request is about to go or is out: the answer decides, or the lease runs out
    retry = "retry"  # a transient error: due again at next_attempt_at
    sent = "sent"
    failed = "failed"
    fell_back = "fell_back"  # this channel could not reach the person; a row for the next one exists
    # The process that sent the row died before the answer was recorded, on a channel that cannot
    # drop a repeat (customer-service, robot) or past its window: it may have arrived. Sending again
    # could deliver it twice, so only a secretary's 补发 does.
    unknown = "unknown"


class Purpose(StrEnum):
    """Why the row is sent about its subject. Every message is a row of the outbox, so reminders and
    escalations get the same claims, retries, fallbacks and rate limits as the first message."""

    notice = "notice"  # the subject itself (the notice, the task)
    reminder = "reminder"  # 提醒: not yet 收到 (round 1, 2, ...)
    missing_list = "missing_list"  # to a branch secretary: who still has not answered 收到
    deadline_reminder = "deadline_reminder"  # a task: one working day before its deadline
    overdue = "overdue"  # a task: to the issuing organisation's secretaries once the deadline passed
    meeting_reminder = "meeting_reminder"  # a meeting: the day before at 09:00 (round 1), 2 h before (round 2)
    leave_request = "leave_request"  # a 请假, to the secretary who approves it
    leave_decision = "leave_decision"  # the secretary's 批准 / 不批准, to the member
    makeup = "makeup"  # a held meeting's material, to those who missed it (补课; they answer 已补课)
    meeting_change = "meeting_change"  # 改期 (round: the meeting's new version) or 取消 (round -1), to attendees
    period_gap = "period_gap"  # five working days before a period ends: an obligation not met yet
    silent_branch = "silent_branch"  # 静默支部: no meeting held for 30 days
    member_missed = "member_missed"  # a member missed three held meetings in a row without leave
    member_inactive = "member_inactive"  # no organisational life for 3 / 5 months


# Channels that drop a repeat by themselves, and for how long after the first send: WeCom's duplicate
# check (the dispatcher asks for its longest interval) and the template's client_msg_id (10 minutes).
# A row of a dead dispatcher on one of them is sent again inside that window, less a margin for the
# resend itself to be claimed and sent; outside it, or on another channel, it settles as unknown.
IDEMPOTENCY_WINDOWS = {
    Channel.work_app: timedelta(seconds=1800),
    Channel.mp_template: timedelta(seconds=600),
}
RESEND_MARGIN = timedelta(seconds=120)

OPEN_STATUSES = (DeliveryStatus.pending, DeliveryStatus.retry)
CLAIMED = (DeliveryStatus.in_flight, DeliveryStatus.sending)  # held by a live (or dead) dispatcher
UNKNOWN_REASON = "发送过程中服务中断，可能已送达；为免重复未再发送"
MESSAGE_KEY = ("subject_kind", "subject_id", "person_id", "channel", "purpose", "round")


class Delivery(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint(*MESSAGE_KEY, name="uq_delivery_message"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_subject", "subject_kind", "subject_id"),
        # A robot key's messages of the last minute (its rate limit) and a member's recent WeCom sends.
        Index("ix_delivery_recipient_sent", "recipient", "sent_at"),
        # A member's 收到: "was this notice sent to me" is a point look-up, not a scan of the notice's
        # 10,000 rows for one person.
        Index("ix_delivery_person_subject", "person_id", "subject_kind", "subject_id", "purpose"),
    )
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: SubjectKind = Field(default=SubjectKind.notice, sa_type=String(20))
    subject_id: int
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: Channel
    recipient: str = Field(max_length=100)  # openid, userid or robot key
    status: DeliveryStatus = DeliveryStatus.pending
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    # When the current attempt's request was marked as going out (status sending).
    sending_at: datetime | None = None
    # The first attempt whose request went out without an answer (a timeout, a lost connection, a
    # crash mid-send): it may have arrived, so a resend relying on a channel's duplicate window
    # (IDEMPOTENCY_WINDOWS) is measured from it. None: every earlier try was answered, nothing arrived.
    unanswered_at: datetime | None = None
    errcode: int | None = None
    reason: str = Field(default="", max_length=300)  # why this channel was chosen, skipped or failed
    sent_at: datetime | None = None
    purpose: Purpose = Field(default=Purpose.notice, sa_type=String(20))
    round: int = 0  # the reminder's number; 0 for everything sent once
    body: str | None = Field(default=None, sa_type=Text)  # text of its own (a reminder); None: the subject's
    # The organisation the person was addressed through (a task's target organisation); None: by membership.
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # What WeChat answered for the send, one column each:
    template_msgid: str | None = Field(default=None, max_length=64, index=True)  # for TEMPLATESENDJOBFINISH
    work_msgid: str | None = Field(default=None, max_length=64)  # WeCom's msgid of the app message
    # Rows that went out in one message share the id of its first row: a person's digest of several
    # notices (a bare 收到 confirms them all), a group robot's message @-mentioning several people.
    digest_id: int | None = None
    robot_message_id: int | None = None

    @property
    def subject(self) -> Subject:
        return Subject(SubjectKind(self.subject_kind), self.subject_id)

    @property
    def client_msg_id(self) -> str:
        """What a template send of the row carries: WeChat sends one message per openid and id within
        10 minutes, so a resend after a timeout or a crash is not delivered twice (≤ 64 bytes)."""
        return f"{self.subject_kind}{self.subject_id}.{self.purpose}{self.round}.{self.id}"[:64]


def open_due(now: datetime) -> ColumnElement[bool]:
    return and_(col(Delivery.status).in_([s.name for s in OPEN_STATUSES]), col(Delivery.next_attempt_at) <= now)


def lease_expired(now: datetime) -> ColumnElement[bool]:
    return and_(col(Delivery.status).in_([s.name for s in CLAIMED]), col(Delivery.lease_until) < now)


async def any_due(*, session: AsyncSession) -> bool:
    """A read-only look first, so an idle dispatcher never takes the write lock. Two probes, each an
    index range of ix_delivery_due: as one OR with LIMIT 1, PostgreSQL scanned the whole outbox (35 ms at
    134,000 pending rows, all of them in the future), betting that an early row would match."""
    now = utcnow()
    for condition in (open_due(now), lease_expired(now)):
        if (await session.exec(select(Delivery.id).where(condition).limit(1))).first() is not None:
            return True
    return False


async def reported_rows(*, session: AsyncSession, openid: str, msgid: str) -> list[Delivery]:
    """The template rows a delivery report names: one, or all the rows of a digest (one send)."""
    found = await session.exec(
        select(Delivery)
        .where(
            col(Delivery.template_msgid) == msgid, col(Delivery.channel) == Channel.mp_template,
            col(Delivery.recipient) == openid,
        )
        .order_by(col(Delivery.id))
    )
    return list(found)


async def template_in_flight(*, session: AsyncSession, openid: str) -> bool:
    """A template send to the openid is out and not settled yet: its report may come first."""
    found = await session.exec(
        select(Delivery.id).where(
            col(Delivery.status).in_([s.name for s in CLAIMED]), col(Delivery.channel) == Channel.mp_template,
            col(Delivery.recipient) == openid,
        ).limit(1)
    )
    return found.first() is not None


async def unknown_templates(*, session: AsyncSession, openid: str) -> list[Delivery]:
    found = await session.exec(
        select(Delivery).where(
            col(Delivery.status) == DeliveryStatus.unknown, col(Delivery.channel) == Channel.mp_template,
            col(Delivery.recipient) == openid,
        )
    )
    return list(found)


async def count_unknown(*, session: AsyncSession, subject: Subject) -> int:
    """The subject's rows that ended unknown: what a secretary's 补发 would send again."""
    found = await session.exec(
        select(func.count()).select_from(Delivery).where(
            col(Delivery.subject_kind) == subject.kind.value, col(Delivery.subject_id) == subject.id,
            col(Delivery.status) == DeliveryStatus.unknown,
        )
    )
    return int(found.one())
