"""Every write of an outbox row (`models.delivery.Delivery`), and the one way to queue a message.

Features call `queue_messages` (notices, reminders, missing lists, deadline reminders, overdue
escalations, and next meeting reminders and rating invitations): one row per person on the channel
that reaches them now, carrying its subject (models/subject.py), written with ON CONFLICT DO NOTHING
on the message key, so two instances or a repeated run write each message once. The dispatcher
claims, holds and settles rows through the functions below; a delivery report settles its rows here
too. Nothing else inserts or updates the table."""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Dialect, TextClause, and_, func, or_, text, update
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient
from models.bulk import insert_ignoring_conflicts
from models.channel_plan import ChannelChoice, first_choice
from models.clock import utcnow
from models.delivery import (
    IDEMPOTENCY_WINDOWS,
    MESSAGE_KEY,
    RESEND_MARGIN,
    UNKNOWN_REASON,
    Delivery,
    DeliveryStatus,
    Purpose,
    lease_expired,
    open_due,
)
from models.subject import Subject
from models.typed import id_of

REASON_MAX = 300
# A notice to this many people updates the outbox's statistics at once (queue_messages).
ANALYZE_AFTER = 1000
SETTLE_CHUNK = 500  # rows per statement: well under the bound-parameter limits of SQLite and asyncpg


# --- queueing ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Queued:
    rows: int = 0  # rows written (a message already queued is not written twice)
    unreachable: list[Recipient] = field(default_factory=list)  # no channel reaches them: nothing written


async def queue_messages(
    *,
    session: AsyncSession,
    subject: Subject,
    recipients: Iterable[Recipient],
    not_before: datetime,
    purpose: Purpose = Purpose.notice,
    round: int = 0,
    body: str | None = None,
    org_of: Mapping[int, int | None] | None = None,
    choose: Callable[[Recipient], ChannelChoice] = first_choice,
    record_failed: bool = False,
) -> Queued:
    """One pending row per person about `subject`, on the channel `choose` picks (the first that
    reaches them), due at `not_before` (quiet hours and digest slots are the caller's). `body`: the
    row's own text (None: the subject's); `org_of`: the organisation each person answers for.
    `record_failed`: the rows are written failed with the choice's reason, nothing is sent (a
    reminder round nobody can receive still counts, so the name reaches the secretary's list)."""
    rows: list[dict[str, Any]] = []
    queued = Queued()
    status = DeliveryStatus.failed if record_failed else DeliveryStatus.pending
    for person in recipients:
        choice = choose(person)
        if choice.channel is None:
            queued.unreachable.append(person)
            continue
        rows.append({
            "subject_kind": subject.kind.value,
            "subject_id": subject.id,
            "person_id": person.person_id,
            "channel": choice.channel.name,
            "recipient": choice.recipient,
            "reason": choice.reason[:REASON_MAX],
            "status": status.name,
            "attempts": 0,
            "next_attempt_at": not_before,
            "purpose": purpose.value,
            "round": round,
            "body": body,
            "org_id": (org_of or {}).get(person.person_id),
        })
    queued.rows = await insert_ignoring_conflicts(session=session, table=Delivery, rows=rows, key=MESSAGE_KEY)
    if queued.rows >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Thousands answer within minutes, before autovacuum's next look: with the table's statistics
        # from before these rows, PostgreSQL plans a member's 收到 look-up as a scan of the notice's
        # rows (8 ms instead of 0.05 ms). ANALYZE counts this transaction's own new rows.
        await (await session.connection()).exec_driver_sql("ANALYZE delivery")
    return queued


async def queue_fallback(
    *, session: AsyncSession, failed: Delivery, person: Recipient, choice: ChannelChoice, now: datetime
) -> int:
    """The message of `failed` again, on the next channel (`choice`), due now; written once however
    often the fallback is decided (a concurrent report, a repeated settle)."""
    queued = await queue_messages(
        session=session, subject=failed.subject, recipients=[person], not_before=now, purpose=Purpose(failed.purpose),
        round=failed.round, body=failed.body, org_of={person.person_id: failed.org_id}, choose=lambda _p: choice,
    )
    return queued.rows


# --- claiming ----------------------------------------------------------------------------------------


async def recover_expired(*, session: AsyncSession) -> int:
    """Rows whose claim ran out: their dispatcher died (or stalled past its lease). A row it had
    claimed but not marked sending was never sent: it is due again, with its attempt given back. A
    row marked sending may have reached WeChat: on a channel that drops repeats by itself (WeCom's
    duplicate check, a template's client_msg_id) a second send is harmless inside that window from
    the first unanswered request, so those rows are due again; elsewhere (or later) a recipient must
    never get a message twice, so they settle as unknown, for a secretary's 补发."""
    now = utcnow()
    expired = lease_expired(now)
    never_sent = await session.exec(
        update(Delivery)
        .where(expired, col(Delivery.status) == DeliveryStatus.in_flight)
        .values(status=DeliveryStatus.retry, lease_until=None, next_attempt_at=now, attempts=Delivery.attempts - 1)
    )
    unanswered = func.coalesce(Delivery.unanswered_at, Delivery.sending_at, now)
    in_window = or_(*(
        and_(col(Delivery.channel) == channel, unanswered > now - window + RESEND_MARGIN)
        for channel, window in IDEMPOTENCY_WINDOWS.items()
    ))
    again = await session.exec(
        update(Delivery).where(expired, in_window).values(status=DeliveryStatus.retry, lease_until=None,
                                                          next_attempt_at=now, unanswered_at=unanswered)
    )
    unknown = await session.exec(
        update(Delivery).where(expired).values(status=DeliveryStatus.unknown, lease_until=None, reason=UNKNOWN_REASON,
                                                unanswered_at=unanswered)
    )
    return int(never_sent.rowcount + again.rowcount + unknown.rowcount)


async def claim_due(*, session: AsyncSession, limit: int, lease: timedelta) -> list[Delivery]:
    """Claims up to `limit` due rows for this dispatcher: pending or retry rows whose time has come
    (expired claims go through `recover_expired` first). On PostgreSQL, SKIP LOCKED lets several
    instances claim side by side without waiting for or taking each other's rows; SQLite has a
    single writer."""
    now = utcnow()
    # By person within one due time: the rows of a person's digest slot (one next_attempt_at) are claimed
    # together, so the dispatcher can merge them. The due-index still picks the rows.
    order = (col(Delivery.next_attempt_at), col(Delivery.person_id))
    picked = select(Delivery.id).where(open_due(now)).order_by(*order).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(picked.scalar_subquery()))
        .values(status=DeliveryStatus.in_flight, lease_until=now + lease, attempts=Delivery.attempts + 1)
        .returning(Delivery)
    )
    return list(result.scalars())


async def mark_sending(*, session: AsyncSession, rows: Sequence[Delivery], lease: timedelta) -> set[int]:
    """The rows whose requests go out next, marked in one statement and committed by the caller before
    any of them is sent: after a crash, only these may have reached WeChat. The lease is renewed, so a
    round of many batches keeps its rows. Returns the ids marked; a row missing from it is no longer
    this claim (its lease ran out and another dispatcher took it) and must not be sent."""
    if not rows:
        return set()
    now = utcnow()
    marked: set[int] = set()
    by_attempt: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_attempt[row.attempts].append(id_of(row))
    for attempts, ids in by_attempt.items():
        for start in range(0, len(ids), SETTLE_CHUNK):
            result = await session.exec(
                update(Delivery)
                .where(col(Delivery.id).in_(ids[start : start + SETTLE_CHUNK]), col(Delivery.attempts) == attempts,
                       col(Delivery.status) == DeliveryStatus.in_flight)
                .values(status=DeliveryStatus.sending, sending_at=now, lease_until=now + lease)
                .returning(col(Delivery.id))
            )
            marked.update(result.scalars())
    for row in rows:
        if row.id in marked:
            row.status, row.sending_at = DeliveryStatus.sending, now
    return marked


@dataclass(frozen=True, slots=True)
class Hold:
    """A claimed row not sent now: due again at `until`, with the reason shown on the progress page."""

    row: Delivery
    until: datetime
    reason: str


async def hold_rows(*, session: AsyncSession, holds: Sequence[Hold]) -> int:
    """Back to `retry` at the hold's time; the claim's attempt is given back, since nothing was sent."""
    held = 0
    for hold in holds:
        row = hold.row
        result = await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.status) == DeliveryStatus.in_flight,
                   col(Delivery.attempts) == row.attempts)
            .values(status=DeliveryStatus.retry, attempts=max(0, row.attempts - 1), next_attempt_at=hold.until,
                    lease_until=None, reason=hold.reason[:REASON_MAX])
        )
        held += result.rowcount
    return held


async def drop_claimed(*, session: AsyncSession, rows: Sequence[Delivery], reason: str) -> int:
    """Claimed rows no longer worth sending (a reminder of a meeting that has started): failed with the
    reason, nothing sent, while still this claim; the attempt is given back."""
    dropped = 0
    for row in rows:
        result = await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.status) == DeliveryStatus.in_flight,
                   col(Delivery.attempts) == row.attempts)
            .values(status=DeliveryStatus.failed, attempts=max(0, row.attempts - 1), lease_until=None,
                    reason=reason[:REASON_MAX])
        )
        dropped += result.rowcount
    return dropped


# --- settling ----------------------------------------------------------------------------------------

# Still the claim that sent it: the same attempt, and sending, or unknown because another dispatcher
# found the lease run out (the real outcome is better than unknown).
SETTLEABLE = (DeliveryStatus.sending, DeliveryStatus.unknown)


async def settle_claimed(*, session: AsyncSession, outcomes: list[tuple[int, int, dict[str, object]]]) -> set[int]:
    """Settles claimed rows, given as (id, attempts, new values), in one UPDATE per set of changed
    columns (sent, retry, failed...) instead of one per row. A row is updated only while it is still
    that claim. Returns the ids that were settled; the others were taken by a later claim, which
    settles them.

    The outcomes travel as one JSON parameter (`json_to_recordset` on PostgreSQL, `json_each` on
    SQLite), so each statement is the same text whatever the rows: the database and SQLAlchemy reuse
    it, where a VALUES list was compiled anew for every commit (a dispatcher commits every few
    answers)."""
    by_columns: dict[tuple[str, ...], list[tuple[int, int, dict[str, object]]]] = defaultdict(list)
    for outcome in outcomes:
        by_columns[tuple(sorted(outcome[2]))].append(outcome)
    dialect = session.get_bind().dialect
    settled: set[int] = set()
    for names, group in by_columns.items():
        statement = _settle_statement(dialect.name, names)
        processors = _bind_processors(dialect, names)
        for start in range(0, len(group), SETTLE_CHUNK):
            payload = [
                {"id": i, "attempts": a, **{n: processors[n](v[n]) for n in names}}
                for i, a, v in group[start : start + SETTLE_CHUNK]
            ]
            result = await session.exec(statement, params={"outcomes": json.dumps(payload, default=_json_value)})  # type: ignore[call-overload]
            settled.update(result.scalars())
    return settled


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a settle payload")


def _bind_processors(dialect: Dialect, names: tuple[str, ...]) -> dict[str, Callable[[object], object]]:
    """What the driver would be given for each column (an enum's name, SQLite's timestamp text)."""
    table = Delivery.__table__  # type: ignore[attr-defined]  # SQLModel does not declare __table__
    found: dict[str, Callable[[object], object]] = {}
    for name in names:
        # The dialect's own implementation: SQLite's turns a timestamp into its stored text, which later
        # compares as text (a bare isoformat() with its 'T' would not).
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        found[name] = process if process is not None else (lambda value: value)
    return found


@cache
def _settle_statement(dialect_name: str, names: tuple[str, ...]) -> TextClause:
    table = Delivery.__table__  # type: ignore[attr-defined]
    settleable = ", ".join(f"'{s.name}'" for s in SETTLEABLE)
    assignments = ", ".join(["lease_until = NULL", *(f"{n} = o.{n}" for n in names)])
    if dialect_name == "postgresql":
        pg = postgresql.dialect()
        columns = ", ".join(["id integer", "attempts integer",
                             *(f"{n} {table.c[n].type.compile(dialect=pg)}" for n in names)])
        source = f"json_to_recordset(CAST(:outcomes AS json)) AS o({columns})"
    else:
        fields = ", ".join(f"json_extract(value, '$.{n}') AS {n}" for n in ("id", "attempts", *names))
        source = f"(SELECT {fields} FROM json_each(:outcomes)) AS o"
    return text(
        f"UPDATE delivery SET {assignments} FROM {source} "
        f"WHERE delivery.id = o.id AND delivery.attempts = o.attempts AND delivery.status IN ({settleable}) "
        "RETURNING delivery.id"
    )


async def settle_fallen_back(
    *, session: AsyncSession, row: Delivery, values: dict[str, object], person: Recipient, choice: ChannelChoice,
    now: datetime,
) -> bool:
    """A claimed row that could not reach the person on its channel: settled with `values` and, only
    when that update took (it is still this claim), the next channel's row is queued."""
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == row.id, col(Delivery.status).in_(SETTLEABLE),
               col(Delivery.attempts) == row.attempts)
        .values(lease_until=None, **values)
    )
    if result.rowcount != 1:
        return False  # the lease ran out and another dispatcher took the row: it settles it
    await queue_fallback(session=session, failed=row, person=person, choice=choice, now=now)
    return True


# --- delivery reports (TEMPLATESENDJOBFINISH) --------------------------------------------------------

REPORTABLE = (DeliveryStatus.sent, DeliveryStatus.unknown)


async def report_delivered(*, session: AsyncSession, rows: Sequence[Delivery], msgid: str | None = None) -> int:
    """A success report: rows settled unknown (their dispatcher died before it stored the answer) are
    sent; `msgid`: the report's, for a row that never stored one."""
    unknown = [r.id for r in rows if r.status == DeliveryStatus.unknown]
    if not unknown:
        return 0
    values: dict[str, object] = {"status": DeliveryStatus.sent, "sent_at": utcnow(), "errcode": 0, "reason": ""}
    if msgid is not None:
        values["template_msgid"] = msgid[:64]
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(unknown), col(Delivery.status) == DeliveryStatus.unknown)
        .values(**values)
    )
    return int(result.rowcount)


async def report_failed(
    *, session: AsyncSession, row: Delivery, reason: str, person: Recipient | None, choice: ChannelChoice | None,
    now: datetime,
) -> None:
    """A failure report: the row failed, or fell back when `choice` (the group robot) is in reach."""
    falls_back = person is not None and choice is not None and choice.channel is not None
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == row.id, col(Delivery.status).in_(REPORTABLE))
        .values(status=DeliveryStatus.fell_back if falls_back else DeliveryStatus.failed, reason=reason[:REASON_MAX])
    )
    if result.rowcount == 1 and falls_back:
        assert person is not None and choice is not None
        labelled = ChannelChoice(choice.channel, choice.recipient, f"{reason}；{choice.reason}")
        await queue_fallback(session=session, failed=row, person=person, choice=labelled, now=now)


RESENT_BY_HAND = "书记补发（可能重复收到）"


async def resend_unknown(*, session: AsyncSession, subject: Subject, now: datetime) -> int:
    """补发: the subject's rows that ended unknown are sent again, now. The secretary was told that
    some may arrive twice; a template resent inside its window is still dropped by WeChat if the
    first one arrived. Returns how many."""
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.subject_kind) == subject.kind.value, col(Delivery.subject_id) == subject.id,
               col(Delivery.status) == DeliveryStatus.unknown)
        .values(status=DeliveryStatus.retry, next_attempt_at=now, unanswered_at=None, reason=RESENT_BY_HAND)
    )
    return int(result.rowcount)


async def release_held(*, session: AsyncSession, subject: Subject, now: datetime) -> int:
    """The subject's rows still held (not tried, not due: quiet hours, a digest slot) become due now:
    the sender made the notice urgent. Returns how many."""
    result = await session.exec(
        update(Delivery)
        .where(col(Delivery.subject_kind) == subject.kind.value, col(Delivery.subject_id) == subject.id,
               col(Delivery.status) == DeliveryStatus.pending, col(Delivery.attempts) == 0,
               col(Delivery.next_attempt_at) > now)
        .values(next_attempt_at=now)
    )
    return int(result.rowcount)
