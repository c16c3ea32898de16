"""Digests (GRASSROOTS_DIGEST_MINUTES): with them on, the non-urgent notices a member gets within one
slot of the clock arrive as one message listing them all, and one 收到 confirms them all; an urgent
notice still goes at once, on its own. Off (the default), every notice goes as before.

The stack's own dispatcher rests; the test's dispatcher sends, and the slot's end "comes" by making
the held rows due now (as if the minutes had passed)."""

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.delivery.reports import USER_BLOCK
from bot.settings import SettingsError, load_settings
from handlers.links import read_notice_token
from models import Delivery, InboundMessage, Notice
from models.clock import utcnow
from models.delivery import Channel, DeliveryStatus, Purpose
from models.notice_send import digest_slot, hold_until
from tests.delivery.outbox import dispatcher_of
from tests.framing import body
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack, running_stack

MEETING = "周五下午三点在社区活动室召开支部党员大会，请准时参加"
SERVICE = "本周六上午九点开展主题党日志愿服务，请到社区门口集合"
DUES = "请各位党员于本月底前交纳第四季度党费"
FLOOD = "今晚防汛值班，请党员19点到社区集合"
FOOTER = "回复“收到”确认全部，或“收到 编号”确认其中一条。"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str) -> AsyncIterator[Stack]:
    """Digests every 10 minutes, no quiet hours; the service's own dispatcher rests."""
    async with running_stack(database_url, quiet_hours="", digest_minutes=10, dispatch_idle=60) as running:
        yield running


@pytest.fixture
async def plain_stack(engine: AsyncEngine, database_url: str) -> AsyncIterator[Stack]:
    """The default: no digests."""
    async with running_stack(database_url, quiet_hours="", dispatch_idle=60) as running:
        await seed_small_roster(running.sessions)
        yield running


async def _members(stack: Stack) -> None:
    """李党员 binds the Official Account (custom messages for 48 h); 赵党员 is linked on WeCom."""
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content
    await stack.phone("work", "zhaody").send_text("你好")


async def _send(stack: Stack, text: str, *, urgent: bool = False) -> tuple[int, str]:
    """王书记 sends a notice wanting 收到 to 阳光社区 (himself, 李党员, 赵党员): its number and his answer."""
    wang = stack.phone("work", "wangshuji")
    for answer in (f"通知：{text}", "1", "好", "2" if urgent else "1", "是", "无"):
        await wang.send_text(answer)
    reply = (await wang.send_text("确认")).content
    assert reply is not None and "已确认" in reply
    async with stack.sessions() as s:
        return (await s.exec(select(Notice.id).where(Notice.text == text))).one(), reply  # type: ignore[return-value]


async def _rows(stack: Stack, notice_id: int | None = None) -> list[Delivery]:
    async with stack.sessions() as s:
        query = select(Delivery).where(Delivery.purpose == Purpose.notice).order_by(col(Delivery.id))
        if notice_id is not None:
            query = query.where(Delivery.subject_id == notice_id)
        return list(await s.exec(query))


async def _slot_ends(stack: Stack) -> None:
    """The held rows' time has come."""
    async with stack.sessions() as s:
        await s.exec(  # type: ignore[call-overload]
            update(Delivery).where(Delivery.status == DeliveryStatus.pending).values(next_attempt_at=utcnow())
        )
        await s.commit()


def _texts(stack: Stack, platform: str, user: str) -> list[str]:
    return [body(m.content) for m in stack.emulator.messages(platform, user) if m.delivered]


def _digest(*items: tuple[int, str]) -> str:
    lines = [f"{i}. 【第 {number} 号】{text}" for i, (number, text) in enumerate(items, 1)]
    return "\n".join([f"您有 {len(items)} 条新通知：", *lines, FOOTER])


async def _three_in_one_slot(stack: Stack) -> list[int]:
    """Three notices confirmed within minutes: each is held to the end of its 10-minute slot, and
    王书记 is told when it goes out."""
    numbers = []
    for text in (MEETING, SERVICE, DUES):
        number, reply = await _send(stack, text)
        rows = await _rows(stack, number)
        [due] = {r.next_attempt_at for r in rows}
        local = due.astimezone(stack.settings.tz)
        notice = await _notice(stack, number)
        assert local.minute % 10 == 0 and local.second == 0
        assert timedelta(0) < due - notice.confirmed_at <= timedelta(minutes=10)  # type: ignore[operator]
        assert reply.endswith(f"（编号 {number}）\n将于 {local:%H:%M} 与其他通知合并发送。")
        numbers.append(number)
    return numbers


async def _notice(stack: Stack, number: int) -> Notice:
    async with stack.sessions() as s:
        found = await s.get(Notice, number)
        assert found is not None
        return found


async def test_three_notices_in_one_slot_reach_a_member_as_one_message(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    meeting, service, dues = await _three_in_one_slot(stack)
    dispatcher = dispatcher_of(stack)
    assert await dispatcher.run_once() == 0  # held: nothing is due yet
    assert _texts(stack, "mp", "o_li") == []

    await _slot_ends(stack)
    assert await dispatcher.run_once() == 9  # 3 notices × 3 people
    expected = _digest((meeting, MEETING), (service, SERVICE), (dues, DUES))
    assert _texts(stack, "mp", "o_li") == [expected]  # a customer-service message
    assert _texts(stack, "work", "zhaody") == [expected]
    assert _texts(stack, "work", "wangshuji")[-1:] == [expected]
    # The same digest to two WeCom members is one call.
    [call] = [c for c in stack.emulator.calls("message/send") if c.body["text"]["content"] == expected]
    assert set(call.body["touser"].split("|")) == {"wangshuji", "zhaody"}
    assert {r.status for r in await _rows(stack)} == {DeliveryStatus.sent}


async def test_an_urgent_notice_in_between_goes_at_once_on_its_own(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    dispatcher = dispatcher_of(stack)
    meeting, _ = await _send(stack, MEETING)
    flood, reply = await _send(stack, FLOOD, urgent=True)
    assert reply.endswith(f"（编号 {flood}）")  # no waiting
    dues, _ = await _send(stack, DUES)

    assert await dispatcher.run_once() == 3  # the urgent notice, to each of the three
    assert _texts(stack, "mp", "o_li") == [FLOOD]
    await _slot_ends(stack)
    assert await dispatcher.run_once() == 6
    assert _texts(stack, "mp", "o_li") == [FLOOD, _digest((meeting, MEETING), (dues, DUES))]


async def test_without_digests_every_notice_goes_at_once_by_itself(plain_stack: Stack) -> None:
    stack = plain_stack
    await _members(stack)
    meeting, reply = await _send(stack, MEETING)
    assert reply.endswith(f"（编号 {meeting}）")
    await _send(stack, DUES)

    assert await dispatcher_of(stack).run_once() == 6
    # Two messages each (sent side by side, in either order).
    assert sorted(_texts(stack, "mp", "o_li")) == sorted([MEETING, DUES])
    assert sorted(_texts(stack, "work", "zhaody")) == sorted([MEETING, DUES])


async def test_shou_dao_confirms_every_notice_of_the_digest_and_progress_counts_each(stack: Stack,
                                                                                     roster: Roster) -> None:
    await _members(stack)
    meeting, service, dues = await _three_in_one_slot(stack)
    await _slot_ends(stack)
    dispatcher = dispatcher_of(stack)
    assert await dispatcher.run_once() == 9
    later, _ = await _send(stack, FLOOD)  # held for the next slot: not seen yet, so not confirmed below

    li, zhao = stack.phone("mp", "o_li"), stack.phone("work", "zhaody")
    assert (await li.send_text("收到")).content == f"已确认收到第 {meeting}、{service}、{dues} 号通知。"
    assert (await li.send_text("收到")).content == f"您已确认过第 {dues} 号通知。"
    # 收到 with a number confirms only that one; a bare 收到 then takes the rest of the digest.
    assert (await zhao.send_text(f"收到 {service}")).content == f"已确认收到第 {service} 号通知。"
    assert (await zhao.send_text("收到")).content == f"已确认收到第 {meeting}、{dues} 号通知。"

    wang = stack.phone("work", "wangshuji")
    for number in (meeting, service, dues):
        lines = (await wang.send_text(f"进度 {number}")).content.split("\n")  # type: ignore[union-attr]
        assert lines[1] == "应发 3，已送达 3，发送中 0，未送达 0，已确认收到 2"
    lines = (await wang.send_text(f"进度 {later}")).content.split("\n")  # type: ignore[union-attr]
    assert lines[1].endswith("已确认收到 0")


async def _outside_the_48_hours(stack: Stack, openid: str) -> None:
    """The member's last message was two days ago: only template messages reach him."""
    async with stack.sessions() as s:
        await s.exec(  # type: ignore[call-overload]
            update(InboundMessage)
            .where(InboundMessage.from_user == openid)
            .values(received_at=utcnow() - timedelta(hours=49))
        )
        await s.commit()


async def test_a_template_digest_links_the_newest_notice_and_one_shou_dao_confirms_all(stack: Stack,
                                                                                        roster: Roster) -> None:
    await _members(stack)
    await _outside_the_48_hours(stack, "o_li")
    meeting, service, dues = await _three_in_one_slot(stack)
    await _slot_ends(stack)
    assert await dispatcher_of(stack).run_once() == 9
    await stack.emulator.drain()  # WeChat's delivery report has been answered

    [message] = stack.emulator.messages("mp", "o_li")
    assert message.api == "template" and message.delivered
    assert message.payload["data"]["thing1"]["value"] == "您有 3 条新通知"
    assert message.payload["data"]["thing5"]["value"] == "点开详情查看，并回复“收到”"
    li_id = roster.people["li"].id
    page, token = message.payload["url"].rsplit("/", 1)
    assert page == f"{stack.settings.public_url}/n" and read_notice_token("test-secret-key", token) == (dues, li_id)
    li_rows = [r for r in await _rows(stack) if r.person_id == li_id]
    assert [(r.channel, r.status, r.template_msgid) for r in li_rows] == [
        (Channel.mp_template, DeliveryStatus.sent, message.msgid)
    ] * 3
    reply = await stack.phone("mp", "o_li").send_text("收到")
    assert reply.content == f"已确认收到第 {meeting}、{service}、{dues} 号通知。"


async def test_a_template_digest_the_member_refuses_settles_all_its_notices(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    await _outside_the_48_hours(stack, "o_li")
    stack.emulator.register_user("mp", "o_li", blocked=True)
    await _three_in_one_slot(stack)
    await _slot_ends(stack)
    assert await dispatcher_of(stack).run_once() == 9
    await stack.emulator.drain()

    [message] = stack.emulator.messages("mp", "o_li")
    assert message.api == "template" and not message.delivered
    li_rows = [r for r in await _rows(stack) if r.person_id == roster.people["li"].id]
    failed = (DeliveryStatus.failed, USER_BLOCK, message.msgid)
    assert [(r.status, r.reason, r.template_msgid) for r in li_rows] == [failed] * 3


async def test_in_quiet_hours_the_digest_waits_for_the_morning(engine: AsyncEngine, database_url: str) -> None:
    local = datetime.now(SH)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    quiet = f"{start:%H:%M}-{end:%H:%M}"
    async with running_stack(database_url, quiet_hours=quiet, digest_minutes=10, dispatch_idle=60) as stack:
        await seed_small_roster(stack.sessions)
        await _members(stack)
        meeting, reply = await _send(stack, MEETING)
        assert reply.splitlines()[1:] == [f"现在是休息时段，将于 {end:%H:%M} 与其他通知合并发送。",
                                          f"如需立即发送，请回复“紧急 {meeting}”。"]
        [due] = {r.next_attempt_at.astimezone(SH) for r in await _rows(stack, meeting)}
        assert (due.hour, due.minute) == (end.hour, end.minute) and due > local
        flood, reply = await _send(stack, FLOOD, urgent=True)
        assert reply.endswith(f"（编号 {flood}）")
        assert await dispatcher_of(stack).run_once() == 3  # only the urgent one
        assert _texts(stack, "mp", "o_li") == [FLOOD]


def test_notices_of_one_slot_meet_at_its_end_and_a_slot_ending_in_the_night_waits_for_the_morning() -> None:
    assert digest_slot(datetime(2026, 11, 23, 10, 0, 1, tzinfo=SH), 10) == datetime(2026, 11, 23, 10, 10, tzinfo=SH)
    assert digest_slot(datetime(2026, 11, 23, 10, 9, 59, tzinfo=SH), 10) == datetime(2026, 11, 23, 10, 10, tzinfo=SH)
    assert digest_slot(datetime(2026, 11, 23, 23, 55, tzinfo=SH), 30) == datetime(2026, 11, 24, 0, 0, tzinfo=SH)
    night = (time(21, 30), time(7, 30))
    evening = datetime(2026, 11, 23, 21, 25, tzinfo=SH)
    morning = datetime(2026, 11, 24, 7, 30, tzinfo=SH)
    assert hold_until(evening, night, urgent=False, digest_minutes=10) == (morning, False, True)
    assert hold_until(evening, night, urgent=True, digest_minutes=10) == (evening, False, False)
    assert hold_until(evening, night, urgent=False) == (evening, False, False)
    assert hold_until(datetime(2026, 11, 23, 23, 0, tzinfo=SH), night, urgent=False, digest_minutes=10) == (
        morning, True, True
    )


def test_the_digest_window_has_bounds() -> None:
    assert load_settings(digest_minutes=0).digest_minutes == 0
    with pytest.raises(SettingsError, match="GRASSROOTS_DIGEST_MINUTES"):
        load_settings(digest_minutes=241)
