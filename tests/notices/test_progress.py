"""`进度`: a secretary sees how far a notice got, within their own part of the tree only."""

import asyncio

from sqlmodel import col, func, select

from models import Delivery, Notice
from models.delivery import CLAIMED, OPEN_STATUSES
from tests.seed import Roster
from tests.stack import Stack

TEXT = "今晚防汛值班，请党员19点到社区集合，带好雨具和手电"


async def _settled(stack: Stack, notice_id: int, within: float = 5.0) -> None:
    """Polls until the dispatcher has settled every delivery row of the notice."""
    unsettled = (*OPEN_STATUSES, *CLAIMED)
    for _ in range(int(within / 0.1)):
        async with stack.sessions() as s:
            query = select(func.count()).select_from(Delivery).where(
                Delivery.subject_id == notice_id, col(Delivery.status).in_(unsettled)
            )
            if (await s.exec(query)).one() == 0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("deliveries not settled in time")


async def _send_urgent_notice(stack: Stack) -> int:
    wang = stack.phone("work", "wangshuji")
    for answer in (f"通知：{TEXT}", "1", "好", "2", "是", "无"):
        await wang.send_text(answer)
    assert "已确认" in (await wang.send_text("确认")).content
    async with stack.sessions() as s:
        return (await s.exec(select(Notice).where(Notice.text == TEXT))).one().id  # type: ignore[return-value]


async def test_a_secretary_sees_the_progress_of_his_notice(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    await stack.phone("work", "zhaody").send_text("你好")  # 赵党员 reachable on WeCom
    wang = stack.phone("work", "wangshuji")
    # the first message also reports the automatic link to the roster
    assert (await wang.send_text("进度")).content.endswith("您还没有发过通知。回复“发通知”开始。")

    notice_id = await _send_urgent_notice(stack)
    await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    await _settled(stack, notice_id)
    assert (await li.send_text("收到")).content == f"已确认收到第 {notice_id} 号通知。"

    reply = (await wang.send_text("进度")).content
    lines = reply.split("\n")
    assert lines[0] == f"第 {notice_id} 号通知：{TEXT[:20]}…"
    assert lines[1] == "应发 3，已送达 3，发送中 0，未送达 0，已确认收到 1"
    assert lines[2] == "阳光社区第一党支部：送达 2/2，确认 1"
    assert lines[3] == "阳光社区：送达 1/1，确认 0"
    assert lines[4] == "未确认：王书记、赵党员"
    assert lines[5].startswith(f"详情：{stack.settings.public_url}/p/") and len(lines) == 6
    by_number = (await wang.send_text(f"进度 {notice_id}")).content.split("\n")
    assert by_number[:5] == lines[:5] and by_number[5].startswith("详情：")
    assert (await wang.send_text("进度 999")).content == "没有找到第 999 号通知，或不在您的管理范围内。"

    assert (await li.send_text("进度")).content == "“进度”只对书记、副书记和管理员开放。"

    he = stack.phone("mp", "o_he")
    assert "绑定成功" in (await he.send_text("绑定 HE2345")).content
    assert (await he.send_text(f"进度 {notice_id}")).content == (
        f"没有找到第 {notice_id} 号通知，或不在您的管理范围内。"
    )
    assert (await he.send_text("进度")).content == "您还没有发过通知。回复“发通知”开始。"


async def test_the_secretary_help_lists_progress(stack: Stack, roster: Roster) -> None:
    assert "进度" in (await stack.phone("work", "wangshuji").send_text("帮助")).content
