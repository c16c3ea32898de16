"""The outbox: one row per (notice, person, channel), written before anything is sent.

A row is pending, in flight (claimed by one dispatcher, with a lease) or settled (sent, failed, or
fell back to another channel). A dispatcher that dies leaves rows in flight; they are claimed again
when the lease runs out, so nothing is lost."""

from collections import defaultdict
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, and_, cast, column, or_, select, update
from sqlalchemy import values as values_list
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow


class Channel(StrEnum):
    work_app = "work_app"  # WeCom app message
    mp_custom = "mp_custom"  # Official Account customer-service message (48 h window)
    mp_template = "mp_template"  # Official Account template message (short fields + link)
    robot = "robot"  # the organisation's WeCom group robot


class DeliveryStatus(StrEnum):
    pending = "pending"
    in_flight = "in_flight"
    retry = "retry"  # a transient error: due again at next_attempt_at
    sent = "sent"
    failed = "failed"
    fell_back = "fell_back"  # this channel could not reach the person; a row for the next one exists
    # The process that claimed the row died while sending, on a channel without idempotency (MP,
    # robot): it may have arrived. Sending again could deliver it twice, so it is settled as unknown.
    unknown = "unknown"


class Purpose(StrEnum):
    """What a row carries. Every message about a notice is a row of the outbox, so reminders and
    escalations get the same claims, retries, fallbacks and rate limits as the notice itself."""

    notice = "notice"  # the notice itself
    reminder = "reminder"  # 提醒: not yet 收到 (round 1, 2, ...)
    missing_list = "missing_list"  # to a branch secretary: who still has not answered 收到
    deadline_reminder = "deadline_reminder"  # a task: one working day before its deadline
    overdue = "overdue"  # a task: to the parent organisation's secretary once the deadline passed
    digest = "digest"  # several notices merged into one message


# Channels that drop a repeat by themselves (WeCom's duplicate check): safe to send again after a crash,
# within the check's interval (the dispatcher asks for WeCom's longest, 1800 s) less a margin for the
# resend itself to be claimed and sent.
IDEMPOTENT_CHANNELS = frozenset({"work_app"})
IDEMPOTENCY_WINDOW = timedelta(seconds=1800)
RESEND_MARGIN = timedelta(seconds=300)


OPEN_STATUSES = (DeliveryStatus.pending, DeliveryStatus.retry)
UNKNOWN_REASON = "发送过程中服务中断，可能已送达；为免重复未再发送"


class Delivery(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("notice_id", "person_id", "channel", "purpose", "round", name="uq_delivery_message"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: Channel
    recipient: str = Field(max_length=100)  # openid, userid or robot key
    status: DeliveryStatus = DeliveryStatus.pending
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    errcode: int | None = None
    reason: str = Field(default="", max_length=300)  # why this channel was chosen, skipped or failed
    sent_at: datetime | None = None
    purpose: Purpose = Field(default=Purpose.notice, sa_type=String(20))  # type: ignore[call-overload]
    round: int = 0  # the reminder's number; 0 for everything sent once
    body: str | None = Field(default=None, sa_type=Text)  # type: ignore[call-overload]  # text other than the notice's
    msgid: str | None = Field(default=None, max_length=64, index=True)  # template msgid, for TEMPLATESENDJOBFINISH
    # The organisation the person was addressed through (a task's target organisation); None: by membership.
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)


def _open_due(now: datetime):  # type: ignore[no-untyped-def]
    return and_(col(Delivery.status).in_([s.name for s in OPEN_STATUSES]), col(Delivery.next_attempt_at) <= now)


def _due(now: datetime):  # type: ignore[no-untyped-def]
    """Open rows whose time has come, and in-flight rows whose lease ran out (to be recovered)."""
    return or_(_open_due(now), and_(Delivery.status == DeliveryStatus.in_flight, col(Delivery.lease_until) < now))


async def any_due(*, session: AsyncSession) -> bool:
    """A read-only look first, so an idle dispatcher never takes the write lock."""
    return (await session.exec(select(Delivery.id).where(_due(utcnow())).limit(1))).first() is not None  # type: ignore[call-overload]


async def recover_expired(*, session: AsyncSession, lease: timedelta = timedelta(seconds=60)) -> int:
    """Rows whose claim ran out while in flight: their dispatcher died mid-send. On WeCom the
    duplicate check makes a second send harmless while it is inside the check's window from the first
    send, so those rows are due again; elsewhere (or later) the first send may have arrived, and a
    recipient must never get a message twice, so they settle as unknown. `lease` is the claims'
    lease, to tell when the lost send happened."""
    now = utcnow()
    expired = and_(Delivery.status == DeliveryStatus.in_flight, col(Delivery.lease_until) < now)
    # The lost send happened at most at lease_until - lease; resending must stay inside WeCom's window.
    in_window = col(Delivery.lease_until) > now - IDEMPOTENCY_WINDOW + RESEND_MARGIN + lease
    idempotent = col(Delivery.channel).in_(sorted(IDEMPOTENT_CHANNELS))
    again = await session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(expired, idempotent, in_window)
        .values(status=DeliveryStatus.retry, lease_until=None, next_attempt_at=now)
    )
    unknown = await session.exec(  # type: ignore[call-overload]
        update(Delivery).where(expired).values(status=DeliveryStatus.unknown, lease_until=None, reason=UNKNOWN_REASON)
    )
    return again.rowcount + unknown.rowcount


async def claim_due(*, session: AsyncSession, limit: int, lease: timedelta) -> list[Delivery]:
    """Claims up to `limit` due rows for this dispatcher: pending or retry rows whose time has come
    (expired claims go through `recover_expired` first). On PostgreSQL, SKIP LOCKED lets several instances claim
    side by side without waiting for or taking each other's rows; SQLite has a single writer."""
    now = utcnow()
    # By person within one due time: the rows of a person's digest slot (one next_attempt_at) are claimed
    # together, so the dispatcher can merge them. The due-index still picks the rows; only the sort of
    # the picked ones gets a second key.
    order = (col(Delivery.next_attempt_at), col(Delivery.person_id))
    picked = select(Delivery.id).where(_open_due(now)).order_by(*order).limit(limit)
    if session.bind.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    result = await session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id).in_(picked.scalar_subquery()))
        .values(status=DeliveryStatus.in_flight, lease_until=now + lease, attempts=Delivery.attempts + 1)
        .returning(Delivery)
    )
    return list(result.scalars())


def write_outbox(
    *, session: AsyncSession, notice_id: int, plan: list[tuple[int, Channel, str, str]], not_before: datetime
) -> int:
    """One pending row per (person, channel) of the plan: (person_id, channel, recipient, reason).
    `not_before` holds non-urgent notices through quiet hours. Returns the number of rows."""
    session.add_all(
        Delivery(
            notice_id=notice_id,
            person_id=person_id,
            channel=channel,
            recipient=recipient,
            reason=reason,
            next_attempt_at=not_before,
        )
        for person_id, channel, recipient, reason in plan
    )
    return len(plan)


SETTLE_CHUNK = 500  # rows per statement: well under the bound-parameter limits of SQLite and asyncpg


async def settle_claimed(*, session: AsyncSession, outcomes: list[tuple[int, int, dict[str, object]]]) -> set[int]:
    """Settles claimed rows, given as (id, attempts, new values), in one UPDATE per set of changed
    columns (sent, retry, failed...) instead of one per row: a round of sends settles in a few
    statements. A row is updated only while it is still that claim: the same attempt, and in flight,
    or unknown because another dispatcher found the lease run out (the real outcome is better than
    unknown). Returns the ids that were settled; the others were taken by a later claim, which settles them."""
    by_columns: dict[tuple[str, ...], list[tuple[int, int, dict[str, object]]]] = defaultdict(list)
    for outcome in outcomes:
        by_columns[tuple(sorted(outcome[2]))].append(outcome)
    table = Delivery.__table__  # type: ignore[attr-defined]
    settled: set[int] = set()
    # PostgreSQL types a VALUES column from its parameters, and a bare NULL (errcode None) as text: cast
    # back to the column's type. SQLite needs no cast (and CAST(... AS DATETIME) would mangle a timestamp).
    typed = cast if session.bind.dialect.name == "postgresql" else (lambda value, _type: value)
    for names, group in by_columns.items():
        shape = [column("id", Integer), column("attempts", Integer), *(column(n, table.c[n].type) for n in names)]
        for start in range(0, len(group), SETTLE_CHUNK):
            rows = [(i, a, *(v[n] for n in names)) for i, a, v in group[start : start + SETTLE_CHUNK]]
            # A CTE: SQLite cannot name the columns of a VALUES subquery, but both take `WITH outcome(id, ...)`.
            given = values_list(*shape, name="outcome").data(rows).cte("outcome")
            result = await session.exec(  # type: ignore[call-overload]
                update(Delivery)
                .where(
                    col(Delivery.id) == given.c.id,
                    col(Delivery.attempts) == given.c.attempts,
                    col(Delivery.status).in_([DeliveryStatus.in_flight, DeliveryStatus.unknown]),
                )
                .values(lease_until=None, **{n: typed(given.c[n], table.c[n].type) for n in names})
                .returning(Delivery.id)
            )
            settled.update(result.scalars())
    return settled
