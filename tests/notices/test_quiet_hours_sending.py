"""Honest timing: a notice the quiet hours hold is never said to be "正在发送". 确认 tells the secretary
when it goes and how to send it at once; 进度 shows it waiting; `紧急 <编号>` sends it now."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from models import AuditEntry, Notice
from models.notice import Urgency
from tests.seed import seed_small_roster
from tests.stack import Stack, running_stack

SH = ZoneInfo("Asia/Shanghai")
TEXT = "明晚七点在社区活动室召开支部党员大会"


@pytest.fixture
async def night(engine: AsyncEngine, database_url: str) -> AsyncIterator[tuple[Stack, str]]:
    """A service whose quiet hours hold the next hour; the end of the quiet hours, as HH:MM."""
    local = datetime.now(SH)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    async with running_stack(database_url, quiet_hours=f"{start:%H:%M}-{end:%H:%M}", dispatch_idle=0.2) as stack:
        await seed_small_roster(stack.sessions)
        stack.emulator.register_user("work", "zhaody")
        yield stack, f"{end:%H:%M}"


async def _confirm(stack: Stack) -> tuple[int, str]:
    wang = stack.phone("work", "wangshuji")
    for answer in (f"通知：{TEXT}", "1", "好", "1", "是", "无"):
        await wang.send_text(answer)
    reply = (await wang.send_text("确认")).content
    assert reply is not None
    async with stack.sessions() as s:
        return (await s.exec(select(Notice.id).where(Notice.text == TEXT))).one(), reply  # type: ignore[return-value]


async def test_a_notice_held_by_the_quiet_hours_says_when_it_goes_and_can_be_sent_at_once(
    night: tuple[Stack, str],
) -> None:
    stack, morning = night
    wang = stack.phone("work", "wangshuji")

    number, reply = await _confirm(stack)

    assert "正在发送" not in reply
    assert reply.splitlines() == [f"已确认，将发送给 2 人（编号 {number}）", f"现在是休息时段，将于 {morning} 起发送。",
                                  f"如需立即发送，请回复“紧急 {number}”。"]
    progress = (await wang.send_text(f"进度 {number}")).content
    assert f"等待发送 2（休息时段，{morning} 起发送）" in progress and "发送中 0" in progress
    assert stack.emulator.messages("work", "zhaody") == []

    assert (await wang.send_text(f"紧急 {number}")).content == f"已改为紧急：第 {number} 号通知现在发送给 2 人。"

    [message] = await stack.emulator.wait_for_messages("work", "zhaody", within=5)
    assert message.content.startswith("【紧急通知 第") and TEXT in message.content
    async with stack.sessions() as s:
        notice = await s.get(Notice, number)
        [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.send_now"))).all()
    assert notice is not None and notice.urgency == Urgency.urgent
    assert entry.detail == {"notice_id": number, "released": 2}
    again = (await wang.send_text(f"紧急 {number}")).content
    assert again == f"第 {number} 号通知没有等待发送的消息，已在发送或已发完。回复“进度 {number}”查看。"


async def test_a_members_word_urgent_is_not_the_secretaries_command(night: tuple[Stack, str]) -> None:
    stack, _ = night
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    reply = (await li.send_text("紧急")).content
    assert reply is not None and reply.startswith("没看懂")  # the help hint, as for any other words


async def test_the_progress_page_shows_the_notice_waiting_for_the_morning(night: tuple[Stack, str]) -> None:
    stack, morning = night
    number, _ = await _confirm(stack)
    reply = (await stack.phone("work", "wangshuji").send_text(f"进度 {number}")).content
    assert reply is not None
    link = reply.rsplit("详情：", 1)[1].strip()

    async with stack.http() as http:
        page = (await http.get(link)).text

    assert "<strong>2</strong>等待发送" in page and f"等待发送 2（休息时段，{morning} 起发送）" in page
