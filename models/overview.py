"""What the secretaries' pages show: counts per organisation in a subtree, and the people of one."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.identity import Identity
from models.organisation import Organisation, in_subtree_of
from models.person import Membership, Person, PersonKind, Role
from models.typed import id_of


@dataclass(frozen=True, slots=True)
class OrgRow:
    org: Organisation
    depth: int
    members: int
    residents: int
    bound: int


async def subtree_counts(*, session: AsyncSession, root: Organisation) -> list[OrgRow]:
    orgs = list(
        await session.exec(
            select(Organisation).where(in_subtree_of(root.path)).order_by(Organisation.path)
        )
    )
    ids = [o.id for o in orgs]
    counts = await session.exec(
        select(Membership.org_id, Person.kind, func.count(), func.count(col(Identity.id)))
        .join(Person, col(Person.id) == Membership.person_id)
        .outerjoin(Identity, col(Identity.person_id) == Person.id)
        .where(col(Membership.org_id).in_(ids))
        .group_by(col(Membership.org_id), col(Person.kind))
    )
    table: dict[int, dict[str, int]] = {}
    for org_id, kind, n, bound in counts:
        row = table.setdefault(org_id, {"member": 0, "resident": 0, "bound": 0})
        row["member" if kind == PersonKind.member else "resident" if kind == PersonKind.resident else "other"] = n
        row["bound"] += bound
    base = root.path.count("/")
    return [
        OrgRow(o, o.path.count("/") - base, table.get(id_of(o), {}).get("member", 0),
               table.get(id_of(o), {}).get("resident", 0), table.get(id_of(o), {}).get("bound", 0))
        for o in orgs
    ]


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
