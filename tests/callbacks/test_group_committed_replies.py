"""The replies thousands send within minutes — a member's first contact after a roster import, 收到
after a notice — are written in the inbound log's group commit instead of a session each. Told as the
users live it, on two instances sharing one database: what one instance wrote, the other sees."""

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.batch_loader import BatchLoader
from bot.callbacks.journal import InboundJournal, claim_row
from bot.callbacks.journal_stores import driver_pool
from bot.keys import DIRECTORY, ENGINE, JOURNAL
from models import AuditEntry, Engagement, Identity, Inquiry, Platform
from models.audit import audit_row
from models.clock import utcnow
from models.delivery import CLAIMED, OPEN_STATUSES, Delivery
from models.directory_version import DirectoryChange, directory_change
from models.engagement import Awaited, awaiting_by_person, awaiting_receipts_of, awaiting_receipts_sql
from models.inbound import InboundMessage, InboundStatus
from models.row_writes import PARENT_ID, RowWrite, table_of
from tests.notices.test_inquiries import _resident
from tests.notices.test_progress import _send_urgent_notice
from tests.seed import Roster
from tests.stack import Stack, running_stack

GREETING = "您好，赵党员！已按花名册自动关联您的账号。回复“帮助”查看可用指令。"


async def _count(stack: Stack, query: object) -> int:
    async with stack.sessions() as s:
        return int((await s.exec(query)).one())  # type: ignore[call-overload]


async def _sent(stack: Stack, notice_id: int) -> None:
    for _ in range(100):
        open_rows = await _count(stack, select(func.count()).select_from(Delivery).where(
            Delivery.subject_id == notice_id, col(Delivery.status).in_((*OPEN_STATUSES, *CLAIMED))))
        if open_rows == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the notice was not sent in time")


async def test_a_member_bound_on_one_instance_confirms_on_the_other_and_progress_shows_it(
    stack: Stack, roster: Roster, database_url: str
) -> None:
    async with running_stack(database_url) as other:
        # 赵党员 opens the WeCom app for the first time, on the other instance: bound from the roster.
        assert (await other.phone("work", "zhaody").enter_agent()).content == GREETING
        async with stack.sessions() as s:
            identity = (await s.exec(select(Identity).where(Identity.external_id == "zhaody"))).one()
            assert identity.person_id == roster.people["zhao"].id and identity.platform == Platform.work
            binds = (await s.exec(select(AuditEntry).where(AuditEntry.action == "identity.bind"))).all()
            assert [(b.actor, b.actor_person_id, b.detail) for b in binds] == [
                ("wechat:work:zhaody", roster.people["zhao"].id, {"via": "work_userid"})]
            changes = (await s.exec(select(DirectoryChange).where(DirectoryChange.identity_id == identity.id))).all()
            assert len(changes) == 1
        # Their next message is answered as the member's: the instance knows them without a read,
        # and its next poll of the change log does not read back the binding it wrote itself.
        directory = other.app[DIRECTORY]
        reads = directory.reads
        await directory.refresh_version()
        assert directory.own_changes == 1
        assert "自动关联" not in ((await other.phone("work", "zhaody").send_text("帮助")).content or "")
        assert directory.reads == reads

        notice_id = await _send_urgent_notice(stack)
        await _sent(stack, notice_id)

        # Their 收到 reaches the first instance, which never saw them: the change log told it.
        zhao = stack.phone("work", "zhaody")
        assert (await zhao.send_text("收到了")).content == f"已确认收到第 {notice_id} 号通知。"
        assert (await other.phone("work", "zhaody").send_text("收到")).content == f"您已确认过第 {notice_id} 号通知。"

        progress = (await other.phone("work", "wangshuji").send_text("进度")).content or ""
        lines = progress.split("\n")
        assert lines[1].endswith("已确认收到 1") and "赵党员" not in lines[4]
        assert await _count(stack, select(func.count()).select_from(Engagement)) == 1
        assert await _count(stack, select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.action == "notice.ack")) == 1


async def test_members_answering_at_the_same_moment_are_each_confirmed_once(stack: Stack, roster: Roster) -> None:
    li, zhao = stack.phone("mp", "o_li"), stack.phone("work", "zhaody")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    await zhao.send_text("你好")
    notice_id = await _send_urgent_notice(stack)
    await _sent(stack, notice_id)
    answers = await asyncio.gather(li.send_text("收到"), zhao.send_text("收到"), stack.phone(
        "work", "wangshuji").send_text("收到"))
    assert [a.content for a in answers] == [f"已确认收到第 {notice_id} 号通知。"] * 3
    assert await _count(stack, select(func.count()).select_from(Engagement)) == 3


async def test_look_ups_asked_while_a_query_runs_share_the_next_one() -> None:
    asked: list[list[int]] = []
    release = asyncio.Event()

    async def load(keys: list[int]) -> dict[int, str]:
        asked.append(keys)
        await release.wait()
        return {k: f"v{k}" for k in keys if k != 3}

    loader: BatchLoader[int, str] = BatchLoader(load, missing=lambda: "none", name="test", concurrency=1)
    first = asyncio.ensure_future(loader.get(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first query is running
    rest = [asyncio.ensure_future(loader.get(k)) for k in (2, 3, 2, 4)]
    release.set()
    assert await first == "v1"
    assert [await r for r in rest] == ["v2", "none", "v2", "v4"]
    assert asked == [[1], [2, 3, 4]] and loader.queries == 2


async def test_a_bad_row_fails_only_its_own_handler_not_the_callbacks_it_shared_a_batch_with(
    engine: AsyncEngine,
) -> None:
    journal = InboundJournal(engine)
    await journal.start()
    try:
        good = RowWrite(table_of(Identity), {"platform": Platform.mp, "app_id": "wx", "external_id": "o_new",
                                             "following": True, "created_at": utcnow()},
                        conflict=("platform", "app_id", "external_id"),
                        then=(directory_change(identity_id=PARENT_ID),))
        bad = audit_row(action=None)  # type: ignore[arg-type]  # NOT NULL: the database refuses it
        claim, written, failed, again = await asyncio.gather(
            journal.claim(dedupe_key="k1", platform="mp", from_user="o_new", msg_type="text", content="收到"),
            journal.write([good]), journal.write([bad]), journal.write([good]), return_exceptions=True)
        assert getattr(claim, "new", None) is True
        assert isinstance(failed, Exception)
        outcomes = sorted([written, again], key=lambda w: not w[0].done)  # type: ignore[index]
        assert outcomes[0][0].done and outcomes[0][0].id is not None  # type: ignore[index]
        assert not outcomes[1][0].done  # type: ignore[index]  # the same identity: skipped, not doubled
    finally:
        await journal.stop()
    async with engine.connect() as conn:
        identities = (await conn.exec_driver_sql("SELECT count(*) FROM identity")).scalar_one()
        changes = (await conn.exec_driver_sql("SELECT count(*) FROM directory_change")).scalar_one()
        logged = (await conn.exec_driver_sql("SELECT count(*) FROM inbound_message")).scalar_one()
    assert (identities, changes, logged) == (1, 1, 1)


async def test_each_handlers_rows_and_reply_are_logged_together_whatever_the_rows_lead_on_to(
    engine: AsyncEngine,
) -> None:
    """A reply whose rows have nothing below them, one whose rows go on to an audit entry and the
    directory version, one whose row was there already, and a retry of a message logged before: each
    gets its own reply logged, and
    the change's version is the one the batch took (on PostgreSQL the replies ride along with the
    batch's next statement, or go alone)."""
    journal = InboundJournal(engine)
    await journal.start()

    def reply(text: str) -> Any:
        return lambda written: ("replied", f"{text} {[w.done for w in written]}", None)

    def finish(key: str, rows: list[RowWrite], text: str) -> Any:
        return journal.finish(dedupe_key=key, rows=rows, conclude=reply(text), claim=claim_row(
            dedupe_key=key, platform="mp", from_user="o_" + key, msg_type="text", content=text))

    try:
        await journal.claim(dedupe_key="old", platform="mp", from_user="o_old", msg_type="text", content="你好")
        identity = RowWrite(table_of(Identity), {"platform": Platform.mp, "app_id": "wx", "external_id": "o_b",
                                                 "following": True, "created_at": utcnow()},
                            conflict=("platform", "app_id", "external_id"),
                            then=(audit_row(action="identity.bind"), directory_change(identity_id=PARENT_ID)))
        alone = await finish("a", [audit_row(action="test.alone")], "甲")  # a batch of its own
        below, again = await asyncio.gather(finish("b", [identity], "乙"),
                                            finish("old", [audit_row(action="test.again")], "丙"))
        existed = await finish("c", [identity], "丁")  # its row is there already: another reply
    finally:
        await journal.stop()
    assert (alone.reply, below.reply, existed.reply) == ("甲 [True]", "乙 [True]", "丁 [False]")
    assert not again.claim.new
    async with engine.connect() as conn:
        logged = dict((await conn.exec_driver_sql(
            "SELECT dedupe_key, reply FROM inbound_message WHERE status = 'replied'")).all())
        version = (await conn.exec_driver_sql(
            "SELECT version FROM directory_change WHERE identity_id IS NOT NULL")).scalar_one()
        actions = sorted((await conn.exec_driver_sql("SELECT action FROM audit_entry")).scalars())
    assert logged == {"a": "甲 [True]", "b": "乙 [True]", "c": "丁 [False]"}
    assert below.written[0].version == version and actions == ["identity.bind", "test.alone"]


async def test_one_persons_messages_in_one_batch_write_their_row_and_its_audit_entry_once(engine: AsyncEngine) -> None:
    journal = InboundJournal(engine)
    await journal.start()
    identity = RowWrite(table_of(Identity), {"platform": Platform.work, "app_id": "corp", "external_id": "zhao",
                                             "following": True, "created_at": utcnow()},
                        conflict=("platform", "app_id", "external_id"),
                        then=(audit_row(action="identity.bind", actor="zhao"), directory_change(identity_id=PARENT_ID)))
    try:
        # The first may go alone; the others wait for the next batch together.
        answers = await asyncio.gather(*(journal.finish(
            dedupe_key=f"m{i}", rows=[identity], claim=claim_row(dedupe_key=f"m{i}", platform="work", from_user="zhao",
                                                              msg_type="text", content="你好"),
            conclude=lambda written: ("replied", "bound" if written[0].done else "wait", None)) for i in range(4)))
    finally:
        await journal.stop()
    assert sorted(a.reply or "" for a in answers) == ["bound", "wait", "wait", "wait"]
    async with engine.connect() as conn:
        counts = [(await conn.exec_driver_sql(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("identity", "audit_entry", "directory_change")]
        replies = sorted((await conn.exec_driver_sql("SELECT reply FROM inbound_message")).scalars())
    assert counts == [1, 1, 1] and replies == ["bound", "wait", "wait", "wait"]


async def test_the_driver_level_look_up_of_what_awaits_shou_dao_finds_what_the_orm_query_finds(
    stack: Stack, roster: Roster
) -> None:
    engine = stack.app[ENGINE]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL runs the look-up at driver level")
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in ((await li.send_text("绑定 LI2345")).content or "")
    notice_id = await _send_urgent_notice(stack)
    await _sent(stack, notice_id)
    people = [p.id for p in roster.people.values() if p.id is not None]

    async def both() -> tuple[dict[int, Awaited], dict[int, Awaited]]:
        async with engine.connect() as conn:
            orm = await awaiting_receipts_of(conn, people)
        pool = await driver_pool(engine, 1)
        try:
            async with pool.acquire() as raw:
                rows = await raw.fetch(awaiting_receipts_sql(engine.dialect), people, utcnow())
        finally:
            await pool.close()
        return orm, awaiting_by_person(rows)

    li_id = roster.people["li"].id
    orm, driver = await both()
    assert driver == orm and [a.notice_id for a in orm[li_id].notices] == [notice_id]  # type: ignore[index]
    assert (await li.send_text("收到")).content == f"已确认收到第 {notice_id} 号通知。"
    orm, driver = await both()
    assert driver == orm and li_id not in orm and orm


async def test_a_shou_dao_is_logged_written_and_answered_in_one_group_commit(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in ((await li.send_text("绑定 LI2345")).content or "")
    notice_id = await _send_urgent_notice(stack)
    await _sent(stack, notice_id)
    journal = stack.app[JOURNAL]
    before = journal.batches
    assert (await li.send_text("收到")).content == f"已确认收到第 {notice_id} 号通知。"
    # One batch held the message's log entry, the receipt with its audit entry, and the reply.
    assert journal.batches - before == 1
    async with stack.sessions() as s:
        logged = (await s.exec(select(InboundMessage).where(InboundMessage.content == "收到"))).one()
    assert logged.status == InboundStatus.replied and f"第 {notice_id} 号" in (logged.reply or "")


async def test_the_same_shou_dao_reaching_two_instances_at_once_is_confirmed_once_and_both_get_one_answer(
    stack: Stack, roster: Roster, database_url: str
) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in ((await li.send_text("绑定 LI2345")).content or "")
    notice_id = await _send_urgent_notice(stack)
    await _sent(stack, notice_id)
    params, body = li.build_request(li.message_xml("text", [("Content", "收到")]))
    async with running_stack(database_url) as other, stack.http() as here, other.http() as there:
        # WeChat's retry of one message, reaching the second instance while the first still answers.
        answers = await asyncio.gather(here.post("/wechat/mp", params=params, content=body),
                                       there.post("/wechat/mp", params=params, content=body))
    replies = [li.codec.open_reply(a.text)["Content"] for a in answers]
    assert replies == [f"已确认收到第 {notice_id} 号通知。"] * 2
    assert await _count(stack, select(func.count()).select_from(Engagement)) == 1
    assert await _count(stack, select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "notice.ack")) == 1


async def test_a_residents_casual_one_with_nothing_to_confirm_becomes_one_message_to_the_community_even_if_retried(
    stack: Stack, roster: Roster, database_url: str
) -> None:
    # "1" is a 收到 only while a notice awaits one; otherwise it goes on to the community as a 留言,
    # which has effects of its own: the message is logged before it, so a retry leaves no second one.
    await _resident(stack, roster)
    zhang = stack.phone("mp", "o_zhangdaye")
    params, body = zhang.build_request(zhang.message_xml("text", [("Content", "1")]))
    async with running_stack(database_url) as other, stack.http() as here, other.http() as there:
        # The message and WeChat's retry of it, on both instances at once.
        answers = await asyncio.gather(here.post("/wechat/mp", params=params, content=body),
                                       there.post("/wechat/mp", params=params, content=body))
    replies = [zhang.codec.open_reply(a.text)["Content"] for a in answers]
    assert "留言已转给阳光社区" in replies[0] and replies[1] == replies[0]
    assert await _count(stack, select(func.count()).select_from(Inquiry)) == 1


async def test_members_opening_the_app_at_the_same_moment_are_each_bound_with_one_directory_change(
    stack: Stack, roster: Roster
) -> None:
    wang, zhao = stack.phone("work", "wangshuji"), stack.phone("work", "zhaody")
    answers = await asyncio.gather(wang.enter_agent(), zhao.enter_agent(), zhao.send_text("帮助"))
    assert "王书记" in (answers[0].content or "") and "赵党员" in (answers[1].content or "")
    async with stack.sessions() as s:
        identities = (await s.exec(select(Identity).where(Identity.platform == Platform.work))).all()
        assert sorted(i.external_id for i in identities) == ["wangshuji", "zhaody"]
        changes = (await s.exec(select(DirectoryChange).where(
            col(DirectoryChange.identity_id).in_([i.id for i in identities])))).all()
        binds = (await s.exec(select(AuditEntry.actor).where(AuditEntry.action == "identity.bind"))).all()
    assert sorted(c.identity_id for c in changes) == sorted(i.id for i in identities)  # type: ignore[type-var]
    assert sorted(binds) == ["wechat:work:wangshuji", "wechat:work:zhaody"]  # one each, in whichever batch
    # Whichever of 赵党员's two messages came second found the identity written a moment before.
    help_text = (await zhao.send_text("帮助")).content
    assert help_text and "自动关联" not in help_text
