"""结果未知 and 补发: a message whose request was out when the service died may or may not have arrived.
The secretary's 进度 says how many and why; `补发 <编号>` asks for 确认, warns that whoever has it gets
it again, and sends exactly those messages once more."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from models import Delivery, DeliveryStatus
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import RESENT_BY_HAND, claim_due, mark_sending, recover_expired
from tests.delivery.outbox import dispatcher_of, notices
from tests.seed import Roster
from tests.stack import Stack


async def _service_died_while_sending_to(stack: Stack, recipient: str) -> None:
    """The row's request was out (marked sending) when its process was killed; the lease ran out."""
    async with stack.sessions() as s:
        rows = await claim_due(session=s, limit=10, lease=timedelta(seconds=60))
        await mark_sending(session=s, rows=[r for r in rows if r.recipient == recipient], lease=timedelta(seconds=60))
        await s.commit()
        await s.exec(update(Delivery).values(lease_until=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
        await recover_expired(session=s)
        await s.commit()


async def _rows(stack: Stack) -> dict[str, Delivery]:
    async with stack.sessions() as s:
        return {r.recipient: r for r in await s.exec(select(Delivery).order_by(col(Delivery.id)))}


async def test_a_secretary_sees_why_a_member_is_unknown_and_resends_after_confirming(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    stack.emulator.register_user("mp", "o_li", interacted=True)
    stack.emulator.register_user("work", "zhaody")
    await notices(stack, people, 1, [("li", Channel.mp_custom, "o_li"), ("zhao", Channel.work_app, "zhaody")])
    await _service_died_while_sending_to(stack, "o_li")
    assert await dispatcher_of(stack).run_once() == 1  # 赵党员's row, never sent by the dead one, goes now
    rows = await _rows(stack)
    assert (rows["o_li"].status, rows["zhaody"].status) == (DeliveryStatus.unknown, DeliveryStatus.sent)
    number = rows["o_li"].subject_id
    wang = stack.phone("work", "wangshuji")

    progress = (await wang.send_text(f"进度 {number}")).content or ""
    assert "结果未知 1" in progress
    assert f"结果未知 1 人：发送时服务中断，可能已收到也可能没有。回复“补发 {number}”可重发" in progress

    asked = (await wang.send_text(f"补发 {number}")).content or ""
    assert asked.startswith(f"第 {number} 号通知有 1 人结果未知") and "已收到的人会再收到一次" in asked
    assert "回复“确认”补发" in asked
    assert (await wang.send_text("嗯？")).content == f"请回复“确认”补发第 {number} 号通知，或回复“取消”放弃。"
    assert await _rows(stack) == rows  # nothing resent without 确认

    done = (await wang.send_text("确认")).content
    assert done == f"已补发：第 {number} 号通知现在重发给 1 人。回复“进度 {number}”查看。"
    assert await dispatcher_of(stack).run_once() == 1

    again = await _rows(stack)
    assert (again["o_li"].status, again["o_li"].reason) == (DeliveryStatus.sent, RESENT_BY_HAND)
    assert len(stack.emulator.messages("mp", "o_li")) == 1  # (the first request never reached WeChat here)
    assert len(stack.emulator.messages("work", "zhaody")) == 1  # the others are not sent again
    assert "结果未知" not in ((await wang.send_text(f"进度 {number}")).content or "")
    assert (await wang.send_text(f"补发 {number}")).content == (
        f"第 {number} 号通知没有结果未知的消息，不需要补发。回复“进度 {number}”查看。")


async def test_a_resend_can_be_called_off_and_is_only_for_secretaries(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    stack.emulator.register_user("mp", "o_li", interacted=True)
    await notices(stack, people, 1, [("li", Channel.mp_custom, "o_li")])
    await _service_died_while_sending_to(stack, "o_li")
    number = (await _rows(stack))["o_li"].subject_id
    wang = stack.phone("work", "wangshuji")

    await wang.send_text(f"补发 {number}")
    assert (await wang.send_text("算了")).content == f"已取消，第 {number} 号通知不补发。"
    assert (await _rows(stack))["o_li"].status == DeliveryStatus.unknown

    member = (await stack.phone("work", "zhaody").send_text(f"补发 {number}")).content or ""
    assert "补发" not in member.splitlines()[0]  # a member gets the help, not the command
