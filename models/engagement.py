"""Members' replies to a notice: 收到 (acknowledged) and, for tasks, 完成 (done, with a short note).
One row per (notice, person, kind), so a repeated reply changes nothing."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint, and_, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.delivery import Channel, Delivery, DeliveryStatus, Purpose
from models.notice import Notice, NoticeStatus

NOTE_LIMIT = 200
# The msgid the dispatcher gives the rows of one digest (several notices in one message to a person)
# on channels whose send has no msgid of its own; a template digest's rows share the template's msgid.
DIGEST_MARKER = "digest:"


class EngagementKind(StrEnum):
    acked = "acked"  # 收到
    done = "done"  # 完成 (tasks only)


class Engagement(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("notice_id", "person_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    kind: EngagementKind
    note: str = Field(default="", max_length=NOTE_LIMIT)  # what the member wrote after 完成
    at: datetime = Field(default_factory=utcnow)


def _sent_to(person_id: int):  # type: ignore[no-untyped-def]
    """Confirmed notices with a delivery row of the notice itself for the person (whatever its status);
    a secretary who only got the list of who is missing is not a recipient."""
    delivered = exists().where(
        Delivery.notice_id == Notice.id, Delivery.person_id == person_id, Delivery.purpose == Purpose.notice
    )
    return select(Notice).where(Notice.status == NoticeStatus.confirmed, delivered)


def _not_yet(person_id: int, kind: EngagementKind):  # type: ignore[no-untyped-def]
    return ~exists().where(
        Engagement.notice_id == Notice.id, Engagement.person_id == person_id, Engagement.kind == kind
    )


def _not_held(person_id: int):  # type: ignore[no-untyped-def]
    """The notice has left the outbox for the person, or is about to: a bare 收到 cannot be about a
    notice still held for its digest slot or the quiet hours, which the person has not seen."""
    held = and_(
        col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.retry]), Delivery.next_attempt_at > utcnow()
    )
    return exists().where(
        Delivery.notice_id == Notice.id, Delivery.person_id == person_id, Delivery.purpose == Purpose.notice, ~held
    )


async def awaiting_receipt(session: AsyncSession, person_id: int) -> Notice | None:
    """The newest notice sent to the person that wants 收到 and has not had it."""
    query = _sent_to(person_id).where(
        col(Notice.wants_receipt), _not_yet(person_id, EngagementKind.acked), _not_held(person_id)
    )
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def all_awaiting_receipt(session: AsyncSession, person_id: int, limit: int = 50) -> list[Notice]:
    """Every notice sent to the person that still awaits 收到 (for 全部收到), oldest first."""
    query = _sent_to(person_id).where(
        col(Notice.wants_receipt), _not_yet(person_id, EngagementKind.acked), _not_held(person_id)
    )
    return list(await session.exec(query.order_by(col(Notice.id)).limit(limit)))


async def awaiting_with(session: AsyncSession, notice_id: int, person_id: int) -> list[Notice]:
    """The notices that reached the person in one message with `notice_id` (a digest), `notice_id`'s
    own included, that still await 收到; oldest first. Just that notice when it came on its own."""
    mine = aliased(Delivery)  # the given notice's rows, apart from the rows of the notices compared
    markers = select(mine.msgid).where(
        mine.notice_id == notice_id,
        mine.person_id == person_id,
        mine.purpose == Purpose.notice,
        or_(col(mine.msgid).startswith(DIGEST_MARKER), mine.channel == Channel.mp_template),
    )
    shared = exists().where(
        Delivery.notice_id == Notice.id,
        Delivery.person_id == person_id,
        Delivery.purpose == Purpose.notice,
        col(Delivery.msgid).in_(markers),
    )
    query = _sent_to(person_id).where(
        col(Notice.wants_receipt), _not_yet(person_id, EngagementKind.acked), or_(Notice.id == notice_id, shared)
    )
    return list(await session.exec(query.order_by(col(Notice.id))))


async def awaiting_done(session: AsyncSession, person_id: int) -> Notice | None:
    """The newest task (a notice with a deadline) sent to the person and not yet reported done."""
    query = _sent_to(person_id).where(
        col(Notice.deadline).is_not(None), _not_yet(person_id, EngagementKind.done), _not_held(person_id)
    )
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def latest_sent(session: AsyncSession, person_id: int, *, tasks_only: bool = False) -> Notice | None:
    """The newest notice (or task) sent to the person, answered or not."""
    query = _sent_to(person_id).where(_not_held(person_id))
    query = query.where(col(Notice.deadline).is_not(None)) if tasks_only else query.where(col(Notice.wants_receipt))
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def sent_notice(session: AsyncSession, notice_id: int, person_id: int) -> Notice | None:
    """Notice `notice_id`, if it was sent to the person."""
    return (await session.exec(_sent_to(person_id).where(Notice.id == notice_id))).first()


async def record(
    session: AsyncSession, notice_id: int, person_id: int, kind: EngagementKind, note: str = ""
) -> bool:
    """Stores the reply; False when the person had already given it (nothing changes)."""
    found = await session.exec(
        select(Engagement.id).where(
            Engagement.notice_id == notice_id, Engagement.person_id == person_id, Engagement.kind == kind
        )
    )
    if found.first() is not None:
        return False
    session.add(Engagement(notice_id=notice_id, person_id=person_id, kind=kind, note=note[:NOTE_LIMIT]))
    await session.flush()
    return True
