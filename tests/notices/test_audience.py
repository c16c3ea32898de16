"""A notice to a street reaches everyone below it once, however many of its organisations they belong to."""

from datetime import timedelta

from bot.db import SessionFactory
from models import Identity, InboundMessage, Membership, Person, PersonKind, Platform, Role, RoleKind
from models.audience import Audience, resolve
from models.clock import utcnow
from tests.seed import Roster, seed_small_roster


async def _add_member(sessions: SessionFactory, roster: Roster, name: str, primary: str, *also: str,
                      mobile: bool = False) -> Person:
    async with sessions() as s:
        person = Person(name=name, kind=PersonKind.member, is_mobile=mobile)
        s.add(person)
        await s.flush()
        s.add(Membership(person_id=person.id, org_id=roster.orgs[primary].id, is_primary=True))  # type: ignore[arg-type]
        for code in also:
            s.add(Membership(person_id=person.id, org_id=roster.orgs[code].id))  # type: ignore[arg-type]
        await s.commit()
        return person


async def test_a_member_of_two_targeted_organisations_is_reached_once(session_factory: SessionFactory) -> None:
    roster = await seed_small_roster(session_factory)
    both = await _add_member(session_factory, roster, "两边都在", "B01", "C02")
    async with session_factory() as s:
        people = await resolve(session=s, audience=Audience(org_ids=(roster.orgs["C01"].id, roster.orgs["C02"].id)))

    assert [p.person_id for p in people].count(both.id) == 1
    assert {p.name for p in people} == {"王书记", "李党员", "赵党员", "何书记", "两边都在"}
    only_c02 = next(p for p in people if p.person_id == both.id)
    assert only_c02.org_ids == {roster.orgs["B01"].id, roster.orgs["C02"].id}


async def test_subtree_kinds_and_filters(session_factory: SessionFactory) -> None:
    roster = await seed_small_roster(session_factory)
    await _add_member(session_factory, roster, "流动", "B01", mobile=True)
    async with session_factory() as s:
        s.add(Person(name="居民甲", kind=PersonKind.resident))
        await s.commit()
        street = (roster.orgs["S01"].id,)
        everyone = await resolve(session=s, audience=Audience(org_ids=street))
        mobile = await resolve(session=s, audience=Audience(org_ids=street, mobile_only=True))
        secretaries = await resolve(session=s, audience=Audience(org_ids=street, secretaries_only=True))
        branch = await resolve(session=s, audience=Audience(org_ids=(roster.orgs["B01"].id,)))

    assert len(everyone) == 5
    assert [p.name for p in mobile] == ["流动"]
    assert {p.name for p in secretaries} == {"王书记", "何书记"}
    assert {p.name for p in branch} == {"李党员", "赵党员", "流动"}


async def test_channels_are_known_per_person_and_the_48_hour_window_comes_from_the_inbound_log(
    session_factory: SessionFactory,
) -> None:
    roster = await seed_small_roster(session_factory)
    wang, li, zhao = roster.people["wang"], roster.people["li"], roster.people["zhao"]
    async with session_factory() as s:
        s.add_all([
            Identity(platform=Platform.work, app_id="ww", external_id="wangshuji", person_id=wang.id),
            Identity(platform=Platform.mp, app_id="wx", external_id="o_li", person_id=li.id),
            Identity(platform=Platform.mp, app_id="wx", external_id="o_zhao", person_id=zhao.id, following=False),
            InboundMessage(dedupe_key="k1", platform="mp", from_user="o_li", msg_type="text",
                           received_at=utcnow() - timedelta(hours=47)),
        ])
        s.add(Role(person_id=li.id, org_id=roster.orgs["B01"].id, kind=RoleKind.deputy))  # type: ignore[arg-type]
        await s.commit()
        people = {p.name: p for p in await resolve(session=s, audience=Audience(org_ids=(roster.orgs["C01"].id,)))}
        later = {p.name: p for p in await resolve(session=s, audience=Audience(org_ids=(roster.orgs["C01"].id,)),
                                                  now=utcnow() + timedelta(hours=2))}

    assert people["王书记"].work_userid == "wangshuji" and people["王书记"].mp_openid is None
    assert people["李党员"].mp_openid == "o_li" and people["李党员"].mp_last_seen is not None
    assert later["李党员"].mp_last_seen is None  # the window has closed
    # 赵党员 unfollowed the Official Account, but the roster names his WeCom account: WeCom reaches
    # a member of the corp by userid before he has ever opened the app.
    assert people["赵党员"].mp_openid is None and people["赵党员"].work_userid == "zhaody"


async def test_a_member_who_left_the_wecom_app_is_not_reached_by_his_roster_userid(
    session_factory: SessionFactory,
) -> None:
    roster = await seed_small_roster(session_factory)
    zhao = roster.people["zhao"]
    async with session_factory() as s:
        s.add(Identity(platform=Platform.work, app_id="ww", external_id="zhaody", person_id=zhao.id, following=False))
        await s.commit()
        people = {p.name: p for p in await resolve(session=s, audience=Audience(org_ids=(roster.orgs["C01"].id,)))}

    assert people["赵党员"].work_userid is None and not people["赵党员"].reachable
