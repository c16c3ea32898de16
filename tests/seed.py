"""A small roster written straight through the models: a district, a street, two communities, a branch."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from models import Membership, Organisation, OrgLevel, Person, PersonKind, Role, RoleKind
from models.api_token import issue_token
from models.directory import bump_directory_version
from models.organisation import child_path


@dataclass
class Roster:
    orgs: dict[str, Organisation]
    people: dict[str, Person]


async def _org(s: AsyncSession, code: str, name: str, level: OrgLevel, parent: Organisation | None) -> Organisation:
    org = Organisation(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                       path=child_path(parent, code))
    s.add(org)
    await s.flush()
    return org


async def _person(s: AsyncSession, name: str, kind: PersonKind, org: Organisation, **fields) -> Person:  # type: ignore[no-untyped-def]
    person = Person(name=name, kind=kind, **fields)
    s.add(person)
    await s.flush()
    s.add(Membership(person_id=person.id, org_id=org.id, is_primary=True))  # type: ignore[arg-type]
    return person


async def seed_small_roster(sessions: SessionFactory) -> Roster:
    async with sessions() as s:
        d = await _org(s, "D01", "示范区", OrgLevel.district, None)
        st = await _org(s, "S01", "朝阳街道", OrgLevel.street, d)
        c1 = await _org(s, "C01", "阳光社区", OrgLevel.community, st)
        c2 = await _org(s, "C02", "和平社区", OrgLevel.community, st)
        b1 = await _org(s, "B01", "阳光社区第一党支部", OrgLevel.branch, c1)
        people = {
            "wang": await _person(s, "王书记", PersonKind.member, c1, phone="13900000001", invite_code="WANG23",
                                  work_userid="wangshuji"),
            "li": await _person(s, "李党员", PersonKind.member, b1, phone="13900000002", invite_code="LI2345"),
            "zhao": await _person(s, "赵党员", PersonKind.member, b1, phone="13900000003", work_userid="zhaody"),
            "he": await _person(s, "何书记", PersonKind.member, c2, phone="13900000004", invite_code="HE2345"),
        }
        s.add(Role(person_id=people["wang"].id, org_id=c1.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        s.add(Role(person_id=people["he"].id, org_id=c2.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        await bump_directory_version(session=s)
        await s.commit()
        return Roster({o.code: o for o in (d, st, c1, c2, b1)}, people)


async def api_token(sessions: SessionFactory, roster: Roster, org: str = "C01", person: str = "wang") -> str:
    """A bearer token of the JSON APIs for `org`, on behalf of `person` (王书记 of 阳光社区 by default)."""
    async with sessions() as s:
        _row, plaintext = await issue_token(session=s, org_id=roster.orgs[org].id, person_id=roster.people[person].id,
                                            name="区委办公室 OA")
        await s.commit()
    return plaintext
