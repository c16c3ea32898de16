"""`grassroots demo` seeds one district through the roster import; seeding twice changes nothing."""

from collections import Counter

from sqlmodel import select

from bot.db import SessionFactory
from bot.roster.demo_seed import demo_personas, demo_roster, seed_demo
from models.organisation import Organisation, OrgLevel
from models.person import PersonKind, RoleKind
from models.roster import load_roster_snapshot
from tests.roster.roster_files import people_state


def test_the_demo_roster_is_the_same_on_every_machine() -> None:
    assert demo_roster() == demo_roster()
    assert demo_personas() == demo_personas()


async def test_the_demo_seed_is_idempotent(session_factory: SessionFactory) -> None:
    first = await seed_demo(session_factory=session_factory)
    state = await people_state(session_factory)

    second = await seed_demo(session_factory=session_factory)

    assert first.ok and first.written, first.render()
    assert second.ok and not second.written and not second.changed
    assert await people_state(session_factory) == state


async def test_the_demo_has_the_promised_shape(session_factory: SessionFactory) -> None:
    await seed_demo(session_factory=session_factory)
    async with session_factory() as session:
        snapshot = await load_roster_snapshot(session=session)
    people = await people_state(session_factory)

    levels = Counter(o.level for o in snapshot.orgs.values())
    assert (levels[OrgLevel.city], levels[OrgLevel.district], levels[OrgLevel.street]) == (1, 1, 2)
    assert levels[OrgLevel.community] == 4 and levels[OrgLevel.branch] >= 7 and levels[OrgLevel.group] >= 1
    assert snapshot.orgs["D01"].name == "示范区" and len(snapshot.units) == 3
    kinds = Counter(p.kind for p in people.values())
    assert kinds[PersonKind.member] == 40 and kinds[PersonKind.resident] == 30 and kinds[PersonKind.unit_rep] == 3
    members = [p for p in people.values() if p.kind == PersonKind.member]
    assert sum(p.is_mobile for p in members) >= 3 and sum(p.is_retired for p in members) >= 3
    assert sum(p.is_in_service for p in members) >= 3
    assert all(snapshot.orgs[p.report_org].level == OrgLevel.community for p in members if p.is_in_service)
    assert sum(bool(p.participating) for p in members) >= 4
    secretaries = {code for p in people.values() for kind, code in p.roles if kind == RoleKind.secretary}
    expected = {o.code for o in snapshot.orgs.values() if o.level != OrgLevel.city and o.level != OrgLevel.group}
    assert secretaries == expected  # district, streets, communities and every branch
    assert any(kind == RoleKind.deputy for p in people.values() for kind, _ in p.roles)
    assert any(kind == RoleKind.admin for p in people.values() for kind, _ in p.roles)
    with_wecom = {code for p in people.values() if p.work_userid for kind, code in p.roles}
    assert {"D01", "S01", "S02", "C01", "C02", "C03", "C04"} <= with_wecom
    assert 15 <= sum(bool(p.work_userid) for p in members) <= 25


async def test_the_personas_are_in_the_seeded_roster(session_factory: SessionFactory) -> None:
    await seed_demo(session_factory=session_factory)
    people = await people_state(session_factory)

    personas = demo_personas()

    roles = {p.role for p in personas}
    assert roles >= {"示范区书记", "阳光社区书记", "流动党员", "在职党员", "阳光社区居民", "驻区单位代表"}
    assert all(people[p.phone].name == p.name and (people[p.phone].work_userid or "") == p.work_userid
               for p in personas)


async def test_every_demo_community_has_a_group_robot(session_factory: SessionFactory) -> None:
    await seed_demo(session_factory=session_factory)
    async with session_factory() as session:
        orgs = list(await session.exec(select(Organisation)))
    robots = {o.code: o.robot_key for o in orgs if o.robot_key}
    assert robots == {code: f"demo-robot-{code}" for code in ("C01", "C02", "C03", "C04")}
