"""留言: what a resident or a unit representative writes to their community (or street) that is no
command. It is passed on to the organisation's secretaries as a numbered 留言; a secretary answers
with `回复 <编号> <内容>` and the answer reaches the sender. This module owns every write of the table;
the messages both ways are outbox rows carrying the inquiry as their subject."""

from datetime import datetime

from sqlalchemy import Text, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.organisation import Organisation, in_subtree_of
from models.person import Person

TEXT_MAX = 1000


class Inquiry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)  # who wrote it
    org_id: int = Field(foreign_key="organisation.id", index=True)  # where it was passed on to
    text: str = Field(sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow)
    answers: int = 0  # how many answers went back (each is its own outbox row, round = its number)
    answered_at: datetime | None = None
    answered_by: int | None = Field(default=None, foreign_key="person.id")
    answer: str | None = Field(default=None, sa_type=Text)  # the last answer
    # Unanswered for 2 working days: passed up to the nearest organisation above with secretaries
    # (escalated_to None: none above had any; it is marked so the tick does not look at it again).
    escalated_at: datetime | None = None
    escalated_to: int | None = Field(default=None, foreign_key="organisation.id")


async def leave_inquiry(*, session: AsyncSession, person_id: int, org_id: int, text: str) -> Inquiry:
    inquiry = Inquiry(person_id=person_id, org_id=org_id, text=text.strip()[:TEXT_MAX])
    session.add(inquiry)
    await session.flush()
    return inquiry


def record_answer(inquiry: Inquiry, *, text: str, by: int, now: datetime) -> int:
    """The answer's number (1 for the first): its outbox row's round."""
    inquiry.answers += 1
    inquiry.answered_at, inquiry.answered_by, inquiry.answer = now, by, text.strip()[:TEXT_MAX]
    return inquiry.answers


def record_escalation(inquiry: Inquiry, *, to_org_id: int | None, now: datetime) -> None:
    inquiry.escalated_at, inquiry.escalated_to = now, to_org_id


async def unanswered_since(*, session: AsyncSession, received_from: datetime, received_by: datetime) -> list[Inquiry]:
    """The 留言 received in the window that nobody answered and that were not escalated yet."""
    return list(await session.exec(
        select(Inquiry).where(col(Inquiry.answers) == 0, col(Inquiry.escalated_at).is_(None),
                              col(Inquiry.received_at) > received_from, col(Inquiry.received_at) <= received_by)
        .order_by(col(Inquiry.id))
    ))


async def inquiry_in_scope(*, session: AsyncSession, inquiry_id: int, scope_paths: list[str]) -> Inquiry | None:
    """The 留言 if it was passed on to an organisation in the secretary's subtrees."""
    found = (await session.exec(
        select(Inquiry, Organisation.path).join(Organisation, col(Organisation.id) == Inquiry.org_id)
        .where(Inquiry.id == inquiry_id)
    )).first()
    if found is None or not any(found[1].startswith(path) for path in scope_paths):
        return None
    return found[0]


def _open_in(scope_paths: list[str]) -> tuple[ColumnElement[bool], ...]:
    return col(Inquiry.answers) == 0, or_(*(in_subtree_of(p) for p in scope_paths))


async def count_open_inquiries(*, session: AsyncSession, scope_paths: list[str]) -> int:
    """How many 留言 in the subtrees have no answer yet."""
    if not scope_paths:
        return 0
    return int((await session.exec(
        select(func.count()).select_from(Inquiry).join(Organisation, col(Organisation.id) == Inquiry.org_id)
        .where(*_open_in(scope_paths))
    )).one())


async def open_inquiries(
    *, session: AsyncSession, scope_paths: list[str], limit: int = 10
) -> tuple[int, list[tuple[Inquiry, str, str]]]:
    """How many 留言 in the secretary's subtrees have no answer yet, and the oldest of them with the
    sender's and the organisation's names."""
    count = await count_open_inquiries(session=session, scope_paths=scope_paths)
    if not count:
        return 0, []
    query = select(Inquiry, Person.name, Organisation.name).join(Person, col(Person.id) == Inquiry.person_id).join(
        Organisation, col(Organisation.id) == Inquiry.org_id).where(*_open_in(scope_paths))
    rows = list(await session.exec(query.order_by(col(Inquiry.received_at)).limit(limit)))
    return count, [(i, person, org) for i, person, org in rows]


async def inquiries_of(
    *, session: AsyncSession, root_path: str, limit: int = 30
) -> list[tuple[Inquiry, str, str]]:
    """The inbox of a subtree: every unanswered 留言 (oldest first), then the latest answered ones,
    with the sender's and the organisation's names; `limit` caps the answered ones only."""
    query = select(Inquiry, Person.name, Organisation.name).join(Person, col(Person.id) == Inquiry.person_id).join(
        Organisation, col(Organisation.id) == Inquiry.org_id).where(in_subtree_of(root_path))
    open_rows = await session.exec(query.where(col(Inquiry.answers) == 0).order_by(col(Inquiry.received_at)))
    done_rows = await session.exec(
        query.where(col(Inquiry.answers) > 0).order_by(col(Inquiry.answered_at).desc()).limit(limit))
    return [(i, person, org) for i, person, org in [*open_rows, *done_rows]]
