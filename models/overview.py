"""What the secretaries' pages show: counts per organisation in a subtree, and the people of one."""

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.delivery import Delivery, DeliveryStatus, Purpose
from models.engagement import Engagement
from models.identity import Identity
from models.notice import Notice, NoticeStatus
from models.organisation import Organisation, in_subtree_of
from models.person import Membership, Person, PersonKind, Role
from models.subject import of_notices
from models.typed import id_of


@dataclass(frozen=True, slots=True)
class OrgRow:
    """One organisation with the counts of its whole subtree (each person once, however many of its
    organisations they belong to)."""

    org: Organisation
    depth: int
    members: int
    residents: int
    reached: int  # bound to WeChat, or named a WeCom account by the roster (WeCom reaches them)


async def subtree_counts(*, session: AsyncSession, root: Organisation) -> list[OrgRow]:
    orgs = list(await session.exec(select(Organisation).where(in_subtree_of(root.path)).order_by(Organisation.path)))
    bound = set(await session.exec(select(Identity.person_id).where(col(Identity.person_id).is_not(None))))
    people: dict[int, tuple[PersonKind, bool]] = {}  # person -> (kind, reached)
    # Each membership counts for its organisation and every ancestor up to the root: one walk up the
    # path ("/D01/S01/C01/") per membership, so a district of tens of thousands stays quick.
    inside: dict[str, set[int]] = {o.code: set() for o in orgs}
    for path, person_id, kind, work_userid in await session.exec(
        select(Organisation.path, Person.id, Person.kind, Person.work_userid)
        .join(Membership, col(Membership.org_id) == Organisation.id)
        .join(Person, col(Person.id) == Membership.person_id)
        .where(in_subtree_of(root.path))
    ):
        assert person_id is not None
        people[person_id] = (PersonKind(kind), person_id in bound or bool(work_userid))
        for code in path.strip("/").split("/"):
            if code in inside:
                inside[code].add(person_id)
    base = root.path.count("/")
    rows = []
    for org in orgs:
        kinds = [people[p][0] for p in inside[org.code]]
        rows.append(OrgRow(org, org.path.count("/") - base, kinds.count(PersonKind.member),
                           kinds.count(PersonKind.resident), sum(people[p][1] for p in inside[org.code])))
    return rows


@dataclass(frozen=True, slots=True)
class PersonRow:
    person: Person
    is_primary: bool
    bound: bool
    roles: list[str]


async def people_of(*, session: AsyncSession, org: Organisation) -> list[PersonRow]:
    rows = await session.exec(
        select(Person, Membership.is_primary)
        .join(Membership, col(Membership.person_id) == Person.id)
        .where(Membership.org_id == org.id)
        .order_by(Person.kind, Person.name)
    )
    people = list(rows)
    ids = [p.id for p, _ in people]
    bound_ids = set(await session.exec(select(Identity.person_id).where(col(Identity.person_id).in_(ids))))
    roles: dict[int, list[str]] = {}
    for role in await session.exec(select(Role).where(col(Role.person_id).in_(ids), Role.org_id == org.id)):
        roles.setdefault(role.person_id, []).append(role.kind.value)
    return [PersonRow(p, primary, p.id in bound_ids, roles.get(id_of(p), [])) for p, primary in people]


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A notice of the subtree with its headline figures (people, delivered, confirmed or done)."""

    notice: Notice
    issuer: str
    people: int
    delivered: int
    acked: int  # 收到, or 完成 (which implies it)


async def notices_of(*, session: AsyncSession, root: Organisation, limit: int = 30) -> list[NoticeRow]:
    """The newest confirmed notices issued inside the subtree: three grouped queries whatever their size."""
    found = list(await session.exec(
        select(Notice, Organisation.name)
        .join(Organisation, col(Organisation.id) == Notice.org_id)
        .where(col(Notice.status) == NoticeStatus.confirmed, in_subtree_of(root.path))
        .order_by(col(Notice.id).desc())
        .limit(limit)
    ))
    ids = [id_of(n) for n, _ in found]
    if not ids:
        return []
    people: dict[int, set[int]] = {i: set() for i in ids}
    delivered: dict[int, set[int]] = {i: set() for i in ids}
    for notice_id, person_id, status in await session.exec(
        select(Delivery.subject_id, Delivery.person_id, Delivery.status)
        .where(of_notices(Delivery, ids), col(Delivery.purpose) == Purpose.notice)
    ):
        people[notice_id].add(person_id)
        if status == DeliveryStatus.sent:
            delivered[notice_id].add(person_id)
    answered: dict[int, set[int]] = {i: set() for i in ids}
    for notice_id, person_id in await session.exec(
        select(Engagement.subject_id, Engagement.person_id).where(of_notices(Engagement, ids))
    ):
        answered[notice_id].add(person_id)
    return [NoticeRow(n, issuer, len(people[id_of(n)]), len(delivered[id_of(n)]),
                      len(answered[id_of(n)] & people[id_of(n)])) for n, issuer in found]
