"""People's replies, recorded against the subject they were asked about (models/subject.py): 收到
(acknowledged) and, for tasks, 完成 (done, with a short note) today. One row per (subject, person,
kind), so a repeated reply changes nothing. Also the notice queries behind a bare 收到 / 完成."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Exists,
    Integer,
    String,
    UniqueConstraint,
    and_,
    any_,
    bindparam,
    column,
    delete,
    exists,
    func,
    literal_column,
    table,
    union_all,
)
from sqlalchemy import select as core_select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.audit import audit_row
from models.bulk import chunks, insert_ignoring_conflicts
from models.clock import utcnow
from models.delivery import Delivery, DeliveryStatus, Purpose
from models.notice import Notice, NoticeStatus
from models.row_writes import RowWrite, table_of
from models.subject import Subject, SubjectKind, of_notice

NOTE_LIMIT = 200


class EngagementKind(StrEnum):
    acked = "acked"  # 收到
    done = "done"  # 完成 (tasks only)
    attending = "attending"  # 参加 (meetings)
    leave = "leave"  # 请假, with its reason as the note (meetings)
    signed_in = "signed_in"  # 签到 (meetings)
    made_up = "made_up"  # 已补课: a member who missed a held meeting studied its material (meetings)


class Approval(StrEnum):
    """A secretary's answer to a 请假 (models/leave_requests.py); none yet: awaiting it."""

    approved = "approved"  # 批准
    refused = "refused"  # 不批准


class Engagement(SQLModel, table=True):
    __table_args__ = (
        # Also the index of a subject's replies (its prefix): a second index on (subject_kind,
        # subject_id) led PostgreSQL to scan a notice's receipts for each 收到 (migration 0013).
        UniqueConstraint("subject_kind", "subject_id", "person_id", "kind", name="uq_engagement_reply"),
    )
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: SubjectKind = Field(default=SubjectKind.notice, sa_type=String(20))
    subject_id: int
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: EngagementKind
    note: str = Field(default="", max_length=NOTE_LIMIT)  # what the member wrote after 完成
    at: datetime = Field(default_factory=utcnow)
    # A leave's approval: kept on the reply itself, so that it goes with it when the member answers
    # 参加 instead (the leave and its approval are gone together) and 考勤 reads both in one query.
    approval: Approval | None = Field(default=None, sa_type=String(10))
    approved_by_person_id: int | None = Field(default=None)
    approved_at: datetime | None = None
    # A server default too: the callback path's batched inserts of 收到 name only the columns they set.
    approval_note: str = Field(default="", max_length=NOTE_LIMIT, sa_column_kwargs={"server_default": ""})


# The statements behind 收到 are built once, with the person and the time as bound
# parameters: building them per reply (an aliased Delivery, a dozen clauses) was most of its CPU.
PERSON: BindParameter[int] = bindparam("person_id")
NOW: BindParameter[datetime] = bindparam("now")


def _sent_to(person_id: Any) -> SelectOfScalar[Notice]:
    """Confirmed notices with a delivery row of the notice itself for the person (whatever its status);
    a secretary who only got the list of who is missing is not a recipient."""
    delivered = exists().where(
        of_notice(Delivery, Notice.id), col(Delivery.person_id) == person_id, col(Delivery.purpose) == Purpose.notice
    )
    return select(Notice).where(Notice.status == NoticeStatus.confirmed, delivered)


def _not_yet(person_id: Any, kind: EngagementKind) -> ColumnElement[bool]:
    return ~exists().where(
        of_notice(Engagement, Notice.id), col(Engagement.person_id) == person_id, col(Engagement.kind) == kind
    )


def _not_held(person_id: Any, now: Any) -> Exists:
    """The notice has left the outbox for the person, or is about to: a bare 收到 cannot be about a
    notice still held for its digest slot or the quiet hours, which the person has not seen."""
    held = and_(
        col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.retry]),
        col(Delivery.next_attempt_at) > now,
    )
    return exists().where(
        of_notice(Delivery, Notice.id), col(Delivery.person_id) == person_id, col(Delivery.purpose) == Purpose.notice,
        ~held,
    )


@cache
def _awaiting_receipt() -> SelectOfScalar[Notice]:
    return _sent_to(PERSON).where(
        col(Notice.wants_receipt), _not_yet(PERSON, EngagementKind.acked), _not_held(PERSON, NOW)
    )


async def all_awaiting_receipt(session: AsyncSession, person_id: int, limit: int = 50) -> list[Notice]:
    """Every notice sent to the person that still awaits 收到 (for 全部收到), oldest first."""
    query = _awaiting_receipt().order_by(col(Notice.id)).limit(limit)
    return list(await session.exec(query, params={"person_id": person_id, "now": utcnow()}))


async def awaiting_done(session: AsyncSession, person_id: int) -> Notice | None:
    """The newest task (a notice with a deadline) sent to the person and not yet reported done."""
    query = _sent_to(person_id).where(
        col(Notice.deadline).is_not(None), _not_yet(person_id, EngagementKind.done), _not_held(person_id, utcnow())
    )
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def latest_sent(session: AsyncSession, person_id: int, *, tasks_only: bool = False) -> Notice | None:
    """The newest notice (or task) sent to the person, answered or not."""
    query = _sent_to(person_id).where(_not_held(person_id, utcnow()))
    query = query.where(col(Notice.deadline).is_not(None)) if tasks_only else query.where(col(Notice.wants_receipt))
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def sent_notice(session: AsyncSession, notice_id: int, person_id: int) -> Notice | None:
    """Notice `notice_id`, if it was sent to the person."""
    return (await session.exec(_sent_to(person_id).where(Notice.id == notice_id))).first()


NOTE_SEPARATOR = "；"


async def add_note(session: AsyncSession, subject: Subject, person_id: int, note: str) -> bool:
    """A later 完成 <说明> of a task already reported done: its note is added to the first one's (the
    issuer reads them together); False when there is no such report or the note is already there."""
    found = (await session.exec(
        select(Engagement).where(
            col(Engagement.subject_kind) == subject.kind.value, col(Engagement.subject_id) == subject.id,
            col(Engagement.person_id) == person_id, col(Engagement.kind) == EngagementKind.done,
        )
    )).first()
    if found is None or not note or note in found.note.split(NOTE_SEPARATOR):
        return False
    found.note = NOTE_SEPARATOR.join(n for n in (found.note, note) if n)[:NOTE_LIMIT]
    session.add(found)
    await session.flush()
    return True


async def record(
    session: AsyncSession, subject: Subject, person_id: int, kind: EngagementKind, note: str = ""
) -> bool:
    """Stores the reply; False when the person had already given it (nothing changes). One statement:
    the insert that a repeat (or a second instance's same reply) makes a no-op."""
    row = {"subject_kind": subject.kind.value, "subject_id": subject.id, "person_id": person_id,
           "kind": kind.name, "note": note[:NOTE_LIMIT], "at": utcnow()}
    return await insert_ignoring_conflicts(
        session=session, table=Engagement, rows=[row], key=("subject_kind", "subject_id", "person_id", "kind"),
    ) == 1


async def answer_instead(session: AsyncSession, subject: Subject, person_id: int, kind: EngagementKind,
                         note: str = "", *, instead_of: Sequence[EngagementKind]) -> Engagement:
    """The person's answer `kind` (its note and time renewed if given before, its approval kept),
    replacing any of the answers it excludes (参加 replaces an earlier 请假, and the other way round)."""
    others = [k.name for k in instead_of if k != kind]
    where = (col(Engagement.subject_kind) == subject.kind.value, col(Engagement.subject_id) == subject.id,
             col(Engagement.person_id) == person_id)
    if others:
        await session.exec(delete(Engagement).where(*where, col(Engagement.kind).in_(others)))
    mine = select(Engagement).where(*where, col(Engagement.kind) == kind.name)
    existing = (await session.exec(mine)).first()
    if existing is not None:
        existing.note, existing.at = note[:NOTE_LIMIT], utcnow()
        session.add(existing)
        await session.flush()
        return existing
    await record(session, subject, person_id, kind, note)
    return (await session.exec(mine)).one()


async def answer_of(session: AsyncSession, subject: Subject, person_id: int, kind: EngagementKind
                    ) -> Engagement | None:
    return (await session.exec(select(Engagement).where(
        col(Engagement.subject_kind) == subject.kind.value, col(Engagement.subject_id) == subject.id,
        col(Engagement.person_id) == person_id, col(Engagement.kind) == kind.name))).first()


async def decide_leave(session: AsyncSession, leave: Engagement, approval: Approval, *, by: int, note: str) -> None:
    """The secretary's 批准 / 不批准 of a leave (not committed)."""
    assert leave.kind == EngagementKind.leave
    leave.approval, leave.approved_by_person_id = approval, by
    leave.approved_at, leave.approval_note = utcnow(), note[:NOTE_LIMIT]
    session.add(leave)
    await session.flush()


async def answers_about(session: AsyncSession, subject: Subject) -> list[Engagement]:
    return list((await session.exec(select(Engagement).where(
        col(Engagement.subject_kind) == subject.kind.value, col(Engagement.subject_id) == subject.id))).all())


@dataclass(frozen=True, slots=True)
class AwaitingNotice:
    """A notice that reached the person, wants 收到 and has not had it (the callback path's view)."""

    notice_id: int
    org_id: int
    digest_ids: frozenset[int]  # the digests its rows to the person went in (none: on its own)
    asked_at: datetime | None = None  # when it went out to the person (the latest of its rows)


@dataclass(frozen=True, slots=True)
class AwaitingMeeting:
    """A meeting whose reminder reached the person, still ahead, that they have not answered."""

    meeting_id: int
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class Awaited:
    """What the bot has asked a person and they have not answered: the notices awaiting 收到 (newest
    first) and the newest meeting reminder awaiting 参加 / 请假. The most recent question decides what a
    bare 好的 or 1 answers."""

    notices: list[AwaitingNotice] = field(default_factory=list)
    meeting: AwaitingMeeting | None = None

    @property
    def meeting_asked_last(self) -> bool:
        if self.meeting is None:
            return False
        asked = [n.asked_at for n in self.notices if n.asked_at is not None]
        return not asked or self.meeting.asked_at > max(asked)


PEOPLE: BindParameter[list[int]] = bindparam("person_ids", expanding=True)
# The meeting table as far as this query needs it (models/meeting.py imports this module).
Meeting_ = table("meeting", column("id", Integer), column("starts_at", table_of(Delivery).c.next_attempt_at.type),
                 column("status", String))
MEETING_KIND = "meeting"  # the second part's marker (the first part's rows are notices)
MEETING_ANSWERS = (EngagementKind.attending.name, EngagementKind.leave.name, EngagementKind.signed_in.name)
# A meeting reminder older than this is not what a bare 好的 answers (round 1 goes out the day before).
MEETING_ASKED_WITHIN = timedelta(hours=36)


@cache
def _awaiting_receipts_of_many() -> CompoundSelect:
    return _awaiting_query(col(Delivery.person_id).in_(PEOPLE), NOW)


def _awaiting_query(people: Any, now: Any) -> CompoundSelect:
    """For many people at once: the notices awaiting 收到 — each visible (not held) notice row to them
    of a confirmed notice that wants 收到 and that they have not acknowledged — and the meeting
    reminders sent to them in the last 36 hours of meetings still ahead they have not answered."""
    held = and_(col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.retry]),
                col(Delivery.next_attempt_at) > now)
    # "Not confirmed yet" as a probe of the reply key per row, not as NOT EXISTS: PostgreSQL turns NOT
    # EXISTS into an anti-join planned from the statistics, and during a burst they describe the
    # engagement table as it was before it (a few rows), so it planned a scan of all the notice's
    # receipts per member (100 ms per look-up at 12,000 receipts). A scalar subquery with LIMIT stays a
    # subplan run per row with the whole key as its index condition, whatever the statistics say.
    receipt = (
        select(col(Engagement.id)).where(
            col(Engagement.subject_kind) == SubjectKind.notice.value, col(Engagement.subject_id) == Delivery.subject_id,
            col(Engagement.person_id) == Delivery.person_id, col(Engagement.kind) == EngagementKind.acked,
        ).limit(1).scalar_subquery()
    )
    notices = (
        core_select(col(Delivery.person_id), col(Notice.id), col(Notice.org_id), col(Delivery.digest_id),
                    func.coalesce(col(Delivery.sending_at), col(Delivery.next_attempt_at)).label("asked_at"),
                    literal_column("'notice'", String).label("what"))
        .join(Notice, of_notice(Delivery, Notice.id))
        .where(people, col(Delivery.purpose) == Purpose.notice,
               col(Notice.status) == NoticeStatus.confirmed, col(Notice.wants_receipt), ~held, receipt.is_(None))
    )
    answer = (
        select(col(Engagement.id)).where(
            col(Engagement.subject_kind) == SubjectKind.meeting.value,
            col(Engagement.subject_id) == Delivery.subject_id, col(Engagement.person_id) == Delivery.person_id,
            col(Engagement.kind).in_(MEETING_ANSWERS),
        ).limit(1).scalar_subquery()
    )
    meetings = (
        core_select(col(Delivery.person_id), col(Delivery.subject_id), literal_column("NULL", Integer),
                    literal_column("NULL", Integer), col(Delivery.sending_at),
                    literal_column(f"'{MEETING_KIND}'", String))
        .join(Meeting_, and_(col(Meeting_.c.id) == Delivery.subject_id, col(Meeting_.c.starts_at) > now,
                             col(Meeting_.c.status) == "scheduled"))
        .where(people, col(Delivery.subject_kind) == SubjectKind.meeting.value,
               col(Delivery.purpose) == Purpose.meeting_reminder, col(Delivery.status) == DeliveryStatus.sent,
               col(Delivery.sending_at) > now - MEETING_ASKED_WITHIN, answer.is_(None))
    )
    return union_all(notices, meetings)


async def awaiting_receipts_of(conn: AsyncConnection, person_ids: Sequence[int]) -> dict[int, Awaited]:
    """For each person, what awaits their answer (Awaited): one query for the bare 收到 of every member
    answering at the same moment (the callback path batches them)."""
    rows: list[Any] = []
    for part in chunks(list(person_ids)):
        rows += await conn.execute(_awaiting_receipts_of_many(), {"person_ids": list(part), "now": utcnow()})
    return awaiting_by_person(rows)


def awaiting_receipts_sql(dialect: Dialect) -> str:
    """The same query as driver-level SQL for asyncpg, with the people as $1 (an int array) and the
    time as $2: the callback path runs it on its own connection, without SQLAlchemy's execution
    layer (cache key, expanding the IN list, a greenlet hop), which cost as much as the query."""
    query = _awaiting_query(col(Delivery.person_id) == any_(literal_column("$1::integer[]")),
                            literal_column("$2::timestamptz"))
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def awaiting_by_person(rows: Iterable[Any]) -> dict[int, Awaited]:
    """Rows of (person id, notice or meeting id, organisation id, digest id, asked at, what), grouped
    per person: their notices newest first, their newest meeting reminder."""
    found: dict[int, dict[int, tuple[int, set[int], list[datetime]]]] = {}
    meetings: dict[int, AwaitingMeeting] = {}
    for person_id, subject_id, org_id, digest_id, asked_at, what in rows:
        assert subject_id is not None  # the join's key
        if what == MEETING_KIND:
            asked = _aware(asked_at)
            if person_id not in meetings or asked > meetings[person_id].asked_at:
                meetings[person_id] = AwaitingMeeting(subject_id, asked)
            continue
        entry = found.setdefault(person_id, {}).setdefault(subject_id, (org_id, set(), []))
        if digest_id is not None:
            entry[1].add(digest_id)
        if asked_at is not None:
            entry[2].append(_aware(asked_at))
    return {
        person_id: Awaited(
            [AwaitingNotice(n, org_id, frozenset(digests), max(times) if times else None)
             for n, (org_id, digests, times) in sorted(found.get(person_id, {}).items(), reverse=True)],
            meetings.get(person_id))
        for person_id in found.keys() | meetings.keys()
    }


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps of a raw union back as they are stored: naive UTC (or as text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def answered_together(awaiting: Sequence[AwaitingNotice]) -> list[AwaitingNotice]:
    """What a bare 收到 confirms: the newest awaiting notice and those that came in a digest with it
    (the notices that reached the person in one message), oldest first."""
    if not awaiting:
        return []
    newest = awaiting[0]
    return sorted((a for a in awaiting if a is newest or a.digest_ids & newest.digest_ids),
                  key=lambda a: a.notice_id)


def receipt_row(*, notice: AwaitingNotice, person_id: int, actor: str, **detail: Any) -> RowWrite:
    """收到 for a notice as a row of the inbound log's batch: the engagement, unless it exists, and then
    its audit entry (as `record` + `record_audit`)."""
    return RowWrite(
        table_of(Engagement),
        {"subject_kind": SubjectKind.notice.value, "subject_id": notice.notice_id, "person_id": person_id,
         "kind": EngagementKind.acked, "note": "", "at": utcnow()},
        conflict=("subject_kind", "subject_id", "person_id", "kind"),
        then=(audit_row(action="notice.ack", actor=actor, actor_person_id=person_id, org_id=notice.org_id,
                        notice_id=notice.notice_id, **detail),),
    )
