"""Who is who, held in memory by every instance: a stranger costs no query, another instance's binding
arrives through the change log as that one person (not a reload of everyone), a conversation's steps
tell nobody, and an instance too far behind the pruned log reads everything again."""

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import SessionFactory
from bot.directory_cache import DirectoryCache
from models import Identity, Membership, Organisation, OrgLevel, Person, PersonKind, Platform
from models.binding import bind_by_invite_code, bind_work_user, ensure_identity, set_following
from models.clock import utcnow
from models.conversation import start_conversation
from models.directory import bump_directory_version, prune_directory_changes, read_directory_version

APP = "wx_app"


async def _member(sessions: SessionFactory, work_userid: str | None = None) -> Person:
    async with sessions() as s:
        org = Organisation(code="C01", name="阳光社区", level=OrgLevel.community, path="/C01/")
        s.add(org)
        await s.flush()
        person = Person(name="李党员", kind=PersonKind.member, invite_code="LI1234", work_userid=work_userid)
        s.add(person)
        await s.flush()
        s.add(Membership(person_id=person.id, org_id=org.id, is_primary=True))  # type: ignore[arg-type]
        await bump_directory_version(session=s)
        await s.commit()
    return person


def _count_statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


async def test_a_stranger_and_a_known_sender_cost_no_query(
    session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    await _member(session_factory)
    async with session_factory() as s:
        await ensure_identity(session=s, platform=Platform.mp, app_id=APP, external_id="o_follower")
        await s.commit()
    cache = DirectoryCache(session_factory, poll_interval=3600, miss_refresh=3600)
    await cache.start()
    statements = _count_statements(engine)
    try:
        follower = await cache.get(Platform.mp, APP, "o_follower")
        stranger = await cache.get(Platform.mp, APP, "o_nobody")
    finally:
        await cache.stop()
    assert follower.identity_id is not None and follower.following and not follower.is_bound
    assert stranger.identity_id is None
    assert statements == [] and (cache.hits, cache.misses) == (1, 1)


async def test_another_instances_binding_arrives_as_that_one_person(session_factory: SessionFactory) -> None:
    person = await _member(session_factory)
    here = DirectoryCache(session_factory, poll_interval=3600, miss_refresh=0)
    await here.start()
    try:
        async with session_factory() as s:  # on the other instance: the member follows and binds
            identity = await ensure_identity(session=s, platform=Platform.mp, app_id=APP, external_id="o_li")
            await s.commit()
        follower = await here.get(Platform.mp, APP, "o_li")  # a miss polls the log first
        assert follower.identity_id == identity.id and not follower.is_bound
        async with session_factory() as s:
            identity = await s.get(Identity, identity.id)
            assert identity is not None
            assert (await bind_by_invite_code(session=s, identity=identity, code="LI1234")).ok
            await s.commit()
        await here.refresh_version()
        bound = await here.get(Platform.mp, APP, "o_li")
        assert bound.person_id == person.id and bound.name == "李党员" and bound.primary_org_name == "阳光社区"
        assert here.full_loads == 1 and here.partial_loads == 2  # the start, then two changes read

        async with session_factory() as s:  # a 发通知 conversation starts: only 李党员 is read again
            await start_conversation(session=s, person_id=person.id, kind="notice", step="orgs", data={})  # type: ignore[arg-type]
            await s.commit()
        await here.refresh_version()
        assert (await here.get(Platform.mp, APP, "o_li")).conversation == "notice"
        async with session_factory() as s:
            identity = await s.get(Identity, identity.id)
            assert identity is not None
            await set_following(session=s, identity=identity, following=False)
            await s.commit()
        await here.refresh_version()
        assert not (await here.get(Platform.mp, APP, "o_li")).following
        assert here.full_loads == 1
    finally:
        await here.stop()


async def test_a_member_imported_with_a_wecom_account_is_known_before_their_first_message(
    session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    person = await _member(session_factory, work_userid="li01")
    here = DirectoryCache(session_factory, poll_interval=3600, miss_refresh=3600)
    await here.start()
    try:
        statements = _count_statements(engine)
        assert not (await here.get(Platform.work, "corp", "li01")).is_bound  # no identity yet
        match = here.work_user("li01")
        assert match is not None and match[0] == person.id
        assert (match[1].name, match[1].primary_org_name) == ("李党员", "阳光社区")
        assert here.work_user("nobody") is None and statements == []

        async with session_factory() as s:  # the secretary starts a 发通知: 李党员 alone is read again
            await start_conversation(session=s, person_id=person.id, kind="notice", step="orgs", data={})  # type: ignore[arg-type]
            await s.commit()
        await here.refresh_version()
        assert here.work_user("li01") is not None and here.full_loads == 1

        async with session_factory() as s:  # a new roster gives 李党员 another account
            row = await s.get(Person, person.id)
            assert row is not None
            row.work_userid = "li02"
            await bump_directory_version(session=s)
            await s.commit()
        await here.refresh_version()
        assert here.work_user("li01") is None
        moved = here.work_user("li02")
        assert moved is not None and moved[0] == person.id
    finally:
        await here.stop()


async def test_what_this_instance_wrote_is_not_read_back_but_another_instances_change_of_it_is(
    session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    person = await _member(session_factory, work_userid="li01")
    here = DirectoryCache(session_factory, poll_interval=3600, miss_refresh=3600)
    await here.start()
    try:
        async def bind_here() -> Identity:  # as a first contact's batch writes it, then tells the cache
            async with session_factory() as s:
                identity = await ensure_identity(session=s, platform=Platform.work, app_id="corp", external_id="li01")
                assert await bind_work_user(session=s, identity=identity) is not None
                await s.commit()
                version = await read_directory_version(session=s)
            match = here.work_user("li01")
            assert match is not None and identity.id is not None
            here.learn((Platform.work, "corp", "li01"), identity.id, *match, version=version)
            return identity

        identity = await bind_here()
        statements = _count_statements(engine)
        await here.refresh_version()
        assert here.own_changes == 1 and not any("identity.external_id" in s for s in statements)
        assert (await here.get(Platform.work, "corp", "li01")).person_id == person.id

        async with session_factory() as s:  # on the other instance, in the same moment: 李党员 unfollows
            row = await s.get(Identity, identity.id)
            assert row is not None
            await set_following(session=s, identity=row, following=False)
            await s.commit()
        await here.refresh_version()
        assert not (await here.get(Platform.work, "corp", "li01")).following
        assert here.own_changes == 1
    finally:
        await here.stop()


async def test_an_instance_behind_the_pruned_log_reads_everything(session_factory: SessionFactory) -> None:
    await _member(session_factory)
    behind = DirectoryCache(session_factory, poll_interval=3600)
    await behind.start()
    try:
        async with session_factory() as s:
            await ensure_identity(session=s, platform=Platform.work, app_id="corp", external_id="zhang")
            await s.commit()
        async with session_factory() as s:
            assert await prune_directory_changes(session=s, before=utcnow() + timedelta(seconds=1)) >= 1
            await s.commit()
        await behind.refresh_version()
        assert behind.full_loads == 2
        assert (await behind.get(Platform.work, "corp", "zhang")).identity_id is not None
    finally:
        await behind.stop()
