"""Members answer a notice in the chat: 收到 to acknowledge it, 完成 to report a task done."""

import pytest
from sqlmodel import func, select

from handlers.confirmations import parse
from models import AuditEntry, Conversation, Engagement, EngagementKind, Notice
from tests.seed import Roster
from tests.stack import Phone, Stack

NOTHING = "目前没有需要您确认的通知。回复“帮助”查看可用指令。"


async def _send_notice(stack: Stack, text: str, deadline: str = "无") -> int:
    """王书记 sends an urgent notice (a task when `deadline` is set) to the members of 阳光社区."""
    wang = stack.phone("work", "wangshuji")
    for answer in (f"通知：{text}", "1", "好", "2", "是", deadline):
        await wang.send_text(answer)
    assert "已确认" in (await wang.send_text("确认")).content
    async with stack.sessions() as s:
        return (await s.exec(select(Notice).where(Notice.text == text))).one().id  # type: ignore[return-value]


async def _li(stack: Stack) -> Phone:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    return li


async def _engagements(stack: Stack) -> list[Engagement]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Engagement).order_by(Engagement.id)))


async def _audits(stack: Stack, action: str) -> int:
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))).one()


async def test_a_member_acknowledges_the_latest_notice_once(stack: Stack, roster: Roster) -> None:
    li = await _li(stack)
    notice_id = await _send_notice(stack, "今晚防汛值班，请党员19点到社区集合")

    assert (await li.send_text("收到！")).content == f"已确认收到第 {notice_id} 号通知。"
    [row] = await _engagements(stack)
    assert (row.subject_id, row.person_id, row.kind) == (notice_id, roster.people["li"].id, EngagementKind.acked)
    assert (await li.send_text("收到")).content == f"您已确认过第 {notice_id} 号通知。"
    assert (await li.send_text(f"收到{notice_id}")).content == f"您已确认过第 {notice_id} 号通知。"
    assert (await li.send_text("收到 999")).content == "没有找到发给您的第 999 号通知。"
    assert len(await _engagements(stack)) == 1
    assert await _audits(stack, "notice.ack") == 1


async def test_full_width_ok_acknowledges_and_a_task_is_reported_done(stack: Stack, roster: Roster) -> None:
    li = await _li(stack)
    first = await _send_notice(stack, "周六上午九点开支部党员大会")
    task = await _send_notice(stack, "请排查本楼栋独居老人", deadline="3天后")

    assert (await li.send_text("ＯＫ")).content == f"已确认收到第 {task} 号通知。"  # the latest one
    assert (await li.send_text(f"收到 {first}")).content == f"已确认收到第 {first} 号通知。"
    assert "不是任务" in (await li.send_text(f"完成 {first}")).content
    assert (await li.send_text("完成 已通知到各户")).content == f"已记录完成（第 {task} 号任务），谢谢！"
    assert "已报告过" in (await li.send_text(f"已完成 {task}")).content
    done = [e for e in await _engagements(stack) if e.kind == EngagementKind.done]
    assert [(e.subject_id, e.note) for e in done] == [(task, "已通知到各户")]
    assert await _audits(stack, "notice.done") == 1
    assert await _audits(stack, "notice.ack") == 2


async def test_nothing_to_confirm_gets_a_friendly_answer(stack: Stack, roster: Roster) -> None:
    li = await _li(stack)
    assert (await li.send_text("收到")).content == NOTHING
    assert (await li.send_text("完成")).content == "目前没有需要您报告完成的任务。回复“帮助”查看可用指令。"
    casual = (await li.send_text("好的")).content  # a casual word is answered by the usual fallback
    assert "好的" in casual and "回复“帮助”" in casual
    assert "绑定 邀请码" in (await stack.phone("mp", "o_stranger").send_text("收到")).content  # unbound: how to bind
    assert await _engagements(stack) == []


async def test_a_secretary_in_a_conversation_keeps_his_answers(stack: Stack, roster: Roster) -> None:
    await _li(stack)
    notice_id = await _send_notice(stack, "明早八点社区大扫除")  # 王书记 is a recipient too
    wang = stack.phone("work", "wangshuji")
    await wang.send_text("发通知")
    assert "党员" in (await wang.send_text("1")).content  # the organisation question, not 收到
    assert "通知内容" in (await wang.send_text("好")).content
    assert await _engagements(stack) == []
    assert "已取消" in (await wang.send_text("取消")).content
    async with stack.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Conversation))).one() == 0
    assert (await wang.send_text("好")).content == f"已确认收到第 {notice_id} 号通知。"
    assert [e.person_id for e in await _engagements(stack)] == [roster.people["wang"].id]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("收到", None), ("收到了", None), ("收到啦", None), ("已收到", None), ("收", None),
        ("收到，谢谢", None), ("收到。谢谢书记", None), ("好的，收到", None), ("好的收到", None),
        ("嗯嗯 收到了", None), ("OK收到", None), ("已收到，马上办", None), ("收到！！", None),
        ("收到 12", 12), ("收到12号", 12), ("收到12号，谢谢", 12), ("收到 12 马上到", 12),
    ],
)
def test_receipts_are_read_as_people_write_them(text: str, number: int | None) -> None:
    parsed = parse(text)
    assert parsed is not None and parsed["kind"] == EngagementKind.acked and not parsed["loose"]
    assert parsed["notice_id"] == number


@pytest.mark.parametrize("text", ["收到的通知在哪里看", "收到一条陌生短信怎么办", "没收到", "收费标准是什么"])
def test_sentences_that_merely_begin_alike_are_not_receipts(text: str) -> None:
    assert parse(text) is None


async def test_all_received_confirms_every_waiting_notice(stack: Stack, roster: Roster) -> None:
    li = await _li(stack)
    first = await _send_notice(stack, "周六上午九点开支部党员大会")
    second = await _send_notice(stack, "下周一前交党费")

    assert (await li.send_text("全部收到")).content == f"已确认收到第 {first}、{second} 号通知。"
    assert (await li.send_text("收到，谢谢")).content == f"您已确认过第 {second} 号通知。"
    assert len(await _engagements(stack)) == 2
    assert await _audits(stack, "notice.ack") == 2
    assert (await li.send_text("全部收到")).content == NOTHING


@pytest.mark.parametrize(
    ("text", "number", "note"),
    [
        ("完成", None, ""), ("完成了", None, ""), ("已完成，共走访23户", None, "共走访23户"),
        ("好的，完成了", None, ""), ("已办完 照片已发群里", None, "照片已发群里"), ("完成 12", 12, ""),
        ("完成12 已上报", 12, "已上报"), ("完成 12号，已上报街道", 12, "已上报街道"),
    ],
)
def test_task_reports_are_read_as_people_write_them(text: str, number: int | None, note: str) -> None:
    parsed = parse(text)
    assert parsed is not None and parsed["kind"] == EngagementKind.done
    assert (parsed["notice_id"], parsed["note"]) == (number, note)


@pytest.mark.parametrize("text", ["完成情况怎么样", "完成度", "未完成"])
def test_questions_about_completion_are_not_reports(text: str) -> None:
    assert parse(text) is None


async def test_a_member_adds_a_note_to_a_task_already_reported_done_and_the_issuer_reads_both(
    stack: Stack, roster: Roster
) -> None:
    li = await _li(stack)
    task = await _send_notice(stack, "请排查本楼栋独居老人", deadline="3天后")

    assert (await li.send_text("完成 已走访困难党员6户")).content == f"已记录完成（第 {task} 号任务），谢谢！"
    assert (await li.send_text("完成 另有2户电话回访")).content == f"已补充第 {task} 号任务的完成说明：另有2户电话回访"
    assert "已报告过" in (await li.send_text("完成 另有2户电话回访")).content  # the same note is not added twice

    [done] = [e for e in await _engagements(stack) if e.kind == EngagementKind.done]
    assert done.note == "已走访困难党员6户；另有2户电话回访"
    assert await _audits(stack, "notice.done_note") == 1
    # 完成 implies 收到: the issuer's 进度 counts him as confirmed, and does not list him as missing.
    progress = (await stack.phone("work", "wangshuji").send_text(f"进度 {task}")).content
    assert "已确认收到 1，已完成 1" in progress and "李党员" not in progress.split("未确认")[-1]
