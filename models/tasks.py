"""Tasks that cascade down the levels (四级联动): a task is addressed to organisations and reaches each
one's secretaries; a secretary passes it down (下发) to the organisations one level below as a child
task; the issuer sees the roll-up of the whole tree per level and per organisation.

Who answers for an organisation is recorded on the outbox row (`Delivery.org_id`), so the roll-up
and the deadline checks never have to guess which role a person received a task in."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient, load_recipients
from models.bulk import chunks
from models.channel_plan import first_choice
from models.clock import utcnow
from models.delivery import Delivery, DeliveryStatus, Purpose
from models.engagement import Engagement, EngagementKind, record
from models.notice import Notice, NoticeStatus, Who
from models.organisation import LEVEL_NAMES, LEVEL_RANK, Organisation, in_subtree_of
from models.outbox import queue_messages
from models.person import Person, Role
from models.subject import Subject, of_notice, of_notices
from models.typed import col_not_none, id_of

SUPPLEMENT = "\n【{org}补充】{note}"


# --- targets -----------------------------------------------------------------------------------------


def is_task_to_secretaries(notice: Notice) -> bool:
    return notice.deadline is not None and Who.secretaries in notice.who


async def secretaries_of(*, session: AsyncSession, org_ids: Iterable[int]) -> dict[int, int]:
    """person id -> the target organisation they hold a role on (the first, when several)."""
    found: dict[int, int] = {}
    for chunk in chunks(sorted(set(org_ids))):
        rows = await session.exec(
            select(Role.person_id, Role.org_id).where(col(Role.org_id).in_(chunk))
            .order_by(col(Role.org_id), col(Role.id))
        )
        for person_id, org_id in rows:
            found.setdefault(person_id, org_id)
    return found


async def target_recipients(*, session: AsyncSession, org_ids: Iterable[int], now: datetime | None = None
                            ) -> tuple[list[Recipient], dict[int, int]]:
    """The secretaries of exactly these organisations (not their subtrees: the levels below get the
    task when it is passed down), with channels, and the organisation each one answers for."""
    org_of = await secretaries_of(session=session, org_ids=org_ids)
    people = await load_recipients(session=session, person_ids=org_of, now=now or utcnow())
    for person_id, person in people.items():
        person.org_ids = {org_of[person_id]}
    return sorted(people.values(), key=lambda r: r.person_id), org_of


# --- 下发 --------------------------------------------------------------------------------------------


async def received_task(
    *, session: AsyncSession, person_id: int, notice_id: int | None
) -> tuple[Notice, Delivery] | None:
    """Task `notice_id` (or the newest task) and the person's outbox row of it (purpose notice)."""
    query = (
        select(Notice, Delivery)
        .join(Delivery, of_notice(Delivery, Notice.id))
        .where(Notice.status == NoticeStatus.confirmed, Delivery.person_id == person_id,
               Delivery.purpose == Purpose.notice)
    )
    if notice_id is not None:
        query = query.where(Notice.id == notice_id)
    else:
        query = query.where(col(Notice.deadline).is_not(None))
    # The row the person was addressed through an organisation on comes first (a fallback row has it too).
    query = query.order_by(col(Notice.id).desc(), col(Delivery.org_id).is_(None), col(Delivery.id))
    found = (await session.exec(query.limit(1))).first()
    return (found[0], found[1]) if found else None


async def passed_down(*, session: AsyncSession, parent_id: int, org_id: int) -> Notice | None:
    query = select(Notice).where(Notice.parent_id == parent_id, Notice.org_id == org_id,
                                 Notice.status == NoticeStatus.confirmed)
    return (await session.exec(query.order_by(col(Notice.id)).limit(1))).first()


@dataclass(slots=True)
class PassDown:
    child: Notice | None  # None: nobody below could be addressed, nothing was created
    orgs_reached: list[Organisation] = field(default_factory=list)
    people: int = 0  # outbox rows written
    without_secretary: list[Organisation] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # secretaries not bound to WeChat
    children: list[Organisation] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChildTarget:
    """An organisation directly below, as the 下发 preview shows it: its secretaries, and how many of
    them a channel reaches."""

    org: Organisation
    secretaries: list[str]
    reachable: int


async def child_orgs(*, session: AsyncSession, org: Organisation) -> list[Organisation]:
    return list(await session.exec(
        select(Organisation).where(Organisation.parent_id == org.id).order_by(Organisation.path)
    ))


async def pass_down_targets(*, session: AsyncSession, org: Organisation) -> list[ChildTarget]:
    """What `下发` would reach below `org`: each child organisation and its secretaries."""
    children = await child_orgs(session=session, org=org)
    people, org_of = await target_recipients(session=session, org_ids=[id_of(c) for c in children])
    names: dict[int, list[str]] = {id_of(c): [] for c in children}
    reachable: dict[int, int] = dict.fromkeys(names, 0)
    for person in people:
        child = org_of[person.person_id]
        names[child].append(person.name)
        reachable[child] += first_choice(person).channel is not None
    return [ChildTarget(c, names[id_of(c)], reachable[id_of(c)]) for c in children]


async def pass_down(*, session: AsyncSession, parent: Notice, org: Organisation, person_id: int, note: str,
                    not_before: datetime, only: Collection[int] | None = None) -> PassDown:
    """The child task for the organisations directly below `org` (`only`: those of them the secretary
    chose), confirmed at once, and 收到 for the secretary who passed it down (passing it on shows it
    arrived)."""
    children = [c for c in await child_orgs(session=session, org=org) if only is None or c.id in only]
    people, org_of = await target_recipients(session=session, org_ids=[c.id for c in children if c.id is not None])
    with_secretary = set(org_of.values())
    result = PassDown(None, children=children,
                      without_secretary=[c for c in children if c.id not in with_secretary],
                      unreachable=[p.name for p in people if first_choice(p).channel is None])
    if len(result.unreachable) == len(people):  # nobody below can be reached: no child task
        return result
    text = parent.text + (SUPPLEMENT.format(org=org.name, note=note) if note else "")
    assert org.id is not None
    child = Notice(org_id=org.id, author_person_id=person_id, text=text[:2000], urgency=parent.urgency,
                   wants_receipt=True, deadline=parent.deadline, parent_id=parent.id,
                   audience={"org_ids": [c.id for c in children], "who": [Who.secretaries.value]},
                   status=NoticeStatus.confirmed, confirmed_at=utcnow())
    session.add(child)
    await session.flush()
    result.child = child
    queued = await queue_messages(session=session, subject=Subject.notice(child.id), recipients=people,
                                  not_before=not_before, org_of=org_of)
    result.people = queued.rows
    reached = {org_of[p.person_id] for p in people if first_choice(p).channel is not None}
    result.orgs_reached = [c for c in children if c.id in reached]
    await record(session, Subject.notice(parent.id), person_id, EngagementKind.acked)
    return result


# --- roll-up -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class OrgStatus:
    """One organisation's part in one task of the tree."""

    notice_id: int
    org: Organisation
    secretaries: list[str] = field(default_factory=list)
    delivered: bool = False
    acked: bool = False
    passed_down: bool = False
    done: bool = False
    overdue: bool = False
    notes: list[str] = field(default_factory=list)  # what its people wrote after 完成


@dataclass(slots=True)
class LevelCounts:
    level: str  # 街道, 社区, ...
    orgs: int = 0
    delivered: int = 0
    acked: int = 0
    passed_down: int = 0
    done: int = 0
    overdue: int = 0


@dataclass(slots=True)
class Rollup:
    root: Notice
    notices: list[Notice]
    levels: list[LevelCounts]
    orgs: list[OrgStatus]  # upper levels first, then by the tree

    @property
    def unfinished(self) -> list[OrgStatus]:
        return [o for o in self.orgs if not o.done]


async def task_tree(*, session: AsyncSession, root: Notice) -> list[Notice]:
    """The root and every task passed down from it, level by level (one query per level)."""
    tree = [root]
    frontier = [root.id]
    while frontier:
        found = list(await session.exec(
            select(Notice).where(col(Notice.parent_id).in_(frontier), Notice.status == NoticeStatus.confirmed)
            .order_by(col(Notice.id))
        ))
        tree.extend(found)
        frontier = [n.id for n in found]
    return tree


async def rollup(*, session: AsyncSession, root: Notice, now: datetime | None = None) -> Rollup:
    """Per level and per organisation: received (delivered), acknowledged, passed down, done, overdue.
    An organisation is done when one of the people it was addressed through reported 完成."""
    now = now or utcnow()
    notices = await task_tree(session=session, root=root)
    by_id = {n.id: n for n in notices}
    ids = list(by_id)
    rows = list(await session.exec(
        select(Delivery.subject_id, col_not_none(Delivery.org_id), Delivery.person_id, Delivery.status).where(
            of_notices(Delivery, ids), Delivery.purpose == Purpose.notice, col(Delivery.org_id).is_not(None)
        )
    ))
    replies: set[tuple[int, int, EngagementKind]] = set()
    notes: dict[tuple[int, int], str] = {}
    for notice_id, person_id, kind, note in await session.exec(
        select(Engagement.subject_id, Engagement.person_id, Engagement.kind, Engagement.note)
        .where(of_notices(Engagement, ids))
    ):
        replies.add((notice_id, person_id, EngagementKind(kind)))
        if kind == EngagementKind.done and note:
            notes[(notice_id, person_id)] = note
    org_ids = {org_id for _n, org_id, _p, _s in rows}
    orgs = {o.id: o for o in await session.exec(select(Organisation).where(col(Organisation.id).in_(org_ids)))}
    person_ids = {person_id for _n, _o, person_id, _s in rows}
    names = dict((await session.exec(select(Person.id, Person.name).where(col(Person.id).in_(person_ids)))).all())
    passed = {(n.parent_id, n.org_id) for n in notices if n.parent_id is not None}
    statuses: dict[tuple[int, int], OrgStatus] = {}
    for notice_id, org_id, person_id, status in rows:
        entry = statuses.setdefault((notice_id, org_id), OrgStatus(notice_id, orgs[org_id]))
        if names[person_id] not in entry.secretaries:
            entry.secretaries.append(names[person_id])
        entry.delivered |= status == DeliveryStatus.sent
        entry.acked |= (notice_id, person_id, EngagementKind.acked) in replies
        entry.done |= (notice_id, person_id, EngagementKind.done) in replies
        if (written := notes.get((notice_id, person_id))) and written not in entry.notes:
            entry.notes.append(written)
    for (notice_id, org_id), entry in statuses.items():
        entry.passed_down = (notice_id, org_id) in passed
        entry.acked |= entry.passed_down or entry.done
        deadline = by_id[notice_id].deadline
        entry.overdue = not entry.done and deadline is not None and deadline <= now
    ordered = sorted(statuses.values(), key=lambda e: (LEVEL_RANK[e.org.level], e.org.path, e.notice_id))
    levels: dict[str, LevelCounts] = {}
    for entry in ordered:
        counts = levels.setdefault(entry.org.level, LevelCounts(LEVEL_NAMES[entry.org.level]))
        counts.orgs += 1
        counts.delivered += entry.delivered
        counts.acked += entry.acked
        counts.passed_down += entry.passed_down
        counts.done += entry.done
        counts.overdue += entry.overdue
    return Rollup(root, notices, list(levels.values()), ordered)


async def latest_task_in_scope(*, session: AsyncSession, scope_paths: list[str], notice_id: int | None,
                               own_org_ids: Iterable[int] = ()) -> Notice | None:
    """Task `notice_id` issued by an organisation inside one of `scope_paths`; without a number, the
    newest task the person's own organisations issued (not one a level below passed down), else the
    newest in scope."""
    if not scope_paths:
        return None
    query = (
        select(Notice)
        .join(Organisation, col(Organisation.id) == Notice.org_id)
        .where(Notice.status == NoticeStatus.confirmed, col(Notice.deadline).is_not(None),
               or_(*(in_subtree_of(p) for p in scope_paths)))
        .order_by(col(Notice.id).desc())
        .limit(1)
    )
    if notice_id is not None:
        return (await session.exec(query.where(Notice.id == notice_id))).first()
    own = (await session.exec(query.where(col(Notice.org_id).in_(list(own_org_ids))))).first()
    return own or (await session.exec(query)).first()


def not_done_yet(notice_ids: Iterable[int]) -> tuple[ColumnElement[bool], ...]:
    """Outbox rows (of the tasks themselves) whose person has not reported 完成."""
    return (
        of_notices(Delivery, notice_ids),
        col(Delivery.purpose) == Purpose.notice,
        ~exists().where(col(Engagement.subject_kind) == Delivery.subject_kind,
                        col(Engagement.subject_id) == Delivery.subject_id,
                        col(Engagement.person_id) == Delivery.person_id,
                        col(Engagement.kind) == EngagementKind.done),
    )
