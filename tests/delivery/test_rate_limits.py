"""WeChat's rate limits are kept, not hit: a WeCom member gets at most 30 app messages a minute (WeCom
drops the rest silently), a group robot 20 a minute (45009 beyond), and an MP rate error (45011)
pauses the Official Account's sends. Whatever waits is sent later, none is lost, no attempt is used."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.delivery.limits import MP_PAUSED, Limits
from models import Delivery, DeliveryStatus
from models.clock import utcnow
from models.delivery import Channel
from tests.delivery.outbox import dispatcher_of as _dispatcher
from tests.delivery.outbox import notices as _notices
from tests.framing import body
from tests.seed import Roster
from tests.stack import Stack

ROBOT = "emulated-robot-key"


async def _rows(stack: Stack) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def _a_minute_passes(stack: Stack) -> None:
    """For WeChat (the emulator's clock) and for our outbox: what was sent is a minute old, what was
    held back is due."""
    stack.emulator.advance_clock(61)
    earlier = utcnow() - timedelta(seconds=61)
    async with stack.sessions() as s:
        for row in await s.exec(select(Delivery).where(Delivery.status == DeliveryStatus.sent)):
            row.sent_at = earlier
            s.add(row)
        await s.exec(  # type: ignore[call-overload]
            update(Delivery).where(Delivery.status == DeliveryStatus.retry).values(next_attempt_at=utcnow())
        )
        await s.commit()


async def test_35_messages_to_one_member_within_a_minute_go_30_now_and_5_a_minute_later(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    stack.emulator.register_user("work", "wangshuji")
    await _notices(stack, people, 35, [("wang", Channel.work_app, "wangshuji")])
    before = utcnow()

    assert await _dispatcher(stack).run_once() == 35
    rows = await _rows(stack)
    sent = [r for r in rows if r.status == DeliveryStatus.sent]
    waiting = [r for r in rows if r.status == DeliveryStatus.retry]
    assert (len(sent), len(waiting)) == (30, 5)
    assert all(r.reason == "企业微信每人每分钟限30条：稍后发送" and r.attempts == 0 for r in waiting)
    assert all(r.next_attempt_at >= before + timedelta(seconds=59) for r in waiting)
    assert len(stack.emulator.messages("work", "wangshuji")) == 30
    assert await _dispatcher(stack).run_once() == 0  # nothing is due before the minute is over

    await _a_minute_passes(stack)
    assert await _dispatcher(stack).run_once() == 5
    rows = await _rows(stack)
    assert [r.status for r in rows] == [DeliveryStatus.sent] * 35
    assert all(r.attempts == 1 for r in rows)  # the wait used up no attempt
    delivered = stack.emulator.messages("work", "wangshuji")
    assert len(delivered) == 35 and all(m.delivered and m.drop_reason is None for m in delivered)
    assert sorted(body(m.content) for m in delivered) == sorted(
        f"第{n}号通知：请按时参加组织生活" for n in range(1, 36)
    )


async def test_another_process_counts_what_the_first_one_sent(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    stack.emulator.register_user("work", "zhaody")
    await _notices(stack, people, 28, [("zhao", Channel.work_app, "zhaody")])
    assert await _dispatcher(stack).run_once() == 28

    await _notices(stack, people, 7, [("zhao", Channel.work_app, "zhaody")], first=28)
    assert await _dispatcher(stack).run_once() == 7  # a second dispatcher: the outbox is what they share
    rows = await _rows(stack)
    assert sum(r.status == DeliveryStatus.sent for r in rows) == 30
    assert sum(r.status == DeliveryStatus.retry for r in rows) == 5
    assert all(m.delivered for m in stack.emulator.messages("work", "zhaody"))


async def test_a_member_over_the_hourly_budget_waits_for_the_hour(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    stack.emulator.register_user("work", "zhaody")
    await _notices(stack, people, 6, [("zhao", Channel.work_app, "zhaody")])

    assert await _dispatcher(stack, limits=Limits(work_per_minute=30, work_per_hour=4)).run_once() == 6
    waiting = [r for r in await _rows(stack) if r.status == DeliveryStatus.retry]
    assert len(waiting) == 2 and all(r.reason == "企业微信每人每小时限4条：稍后发送" for r in waiting)
    assert all(r.next_attempt_at > utcnow() + timedelta(minutes=59) for r in waiting)
    assert len(stack.emulator.messages("work", "zhaody")) == 4


async def test_25_robot_messages_go_20_now_and_5_a_minute_later_without_a_45009(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    await _notices(stack, people, 25, [("li", Channel.robot, ROBOT)])

    assert await _dispatcher(stack).run_once() == 25
    rows = await _rows(stack)
    sent = [r for r in rows if r.status == DeliveryStatus.sent]
    waiting = [r for r in rows if r.status == DeliveryStatus.retry]
    assert (len(sent), len(waiting)) == (20, 5)
    assert len({r.robot_message_id for r in sent}) == 20
    assert all(r.reason == "群机器人每分钟限20条：稍后发送" and r.attempts == 0 for r in waiting)
    calls = stack.emulator.calls("webhook/send")
    assert len(calls) == 20 and all(c.errcode in (0, None) for c in calls)
    # Each message @-mentions 李党员 by his mobile.
    messages = stack.emulator.messages("robot", ROBOT)
    assert all(m.payload["text"]["mentioned_mobile_list"] == ["13900000002"] for m in messages)

    await _a_minute_passes(stack)
    assert await _dispatcher(stack).run_once() == 5
    assert [r.status for r in await _rows(stack)] == [DeliveryStatus.sent] * 25
    calls = stack.emulator.calls("webhook/send")
    assert len(calls) == 25 and all(c.errcode in (0, None) for c in calls)
    assert len(stack.emulator.messages("robot", ROBOT)) == 25


async def test_an_mp_rate_error_pauses_the_official_account_and_the_rows_wait(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    for openid in ("o_li", "o_he"):
        stack.emulator.register_user("mp", openid, interacted=True)
    await _notices(stack, people, 1, [("li", Channel.mp_custom, "o_li"), ("he", Channel.mp_custom, "o_he")])
    stack.emulator.force_error("custom/send", 45011)
    paused = _dispatcher(stack, concurrency=1)

    assert await paused.run_once() == 2
    [hit] = [r for r in await _rows(stack) if r.errcode == 45011]
    [held] = [r for r in await _rows(stack) if r.errcode != 45011]
    assert (hit.status, hit.errcode, hit.attempts) == (DeliveryStatus.retry, 45011, 1)
    assert (held.status, held.reason, held.attempts) == (DeliveryStatus.retry, MP_PAUSED, 0)
    assert held.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert len(stack.emulator.calls("custom/send")) == 1

    async with stack.sessions() as s:  # even when due, this process's MP sends still rest
        await s.exec(update(Delivery).values(next_attempt_at=utcnow()))  # type: ignore[call-overload]
        await s.commit()
    assert await paused.run_once() == 2
    assert len(stack.emulator.calls("custom/send")) == 1
    assert {r.status for r in await _rows(stack)} == {DeliveryStatus.retry}

    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(next_attempt_at=utcnow()))  # type: ignore[call-overload]
        await s.commit()
    assert await _dispatcher(stack).run_once() == 2  # another process was never paused
    assert [r.status for r in await _rows(stack)] == [DeliveryStatus.sent] * 2
    assert len(stack.emulator.messages("mp", "o_li")) == 1 and len(stack.emulator.messages("mp", "o_he")) == 1


async def test_an_mp_calls_per_second_cap_holds_what_would_wait_too_long(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    for openid in ("o_li", "o_he"):
        stack.emulator.register_user("mp", openid, interacted=True)
    await _notices(stack, people, 1, [("li", Channel.mp_custom, "o_li"), ("he", Channel.mp_custom, "o_he")])

    capped = _dispatcher(stack, limits=Limits(mp_per_second=0.1), lease=timedelta(seconds=8))
    assert await capped.run_once() == 2
    statuses = sorted(r.status for r in await _rows(stack))
    assert statuses == [DeliveryStatus.retry, DeliveryStatus.sent]
    assert len(stack.emulator.calls("custom/send")) == 1
