"""The dispatcher against the real service and the WeChat emulator: send, retry, fall back, recover."""

import asyncio
import random
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.delivery.channels import NOT_A_MEMBER
from bot.delivery.dispatcher import Dispatcher
from bot.keys import API
from handlers.links import read_notice_token
from models import Delivery, DeliveryStatus
from models.clock import utcnow
from models.delivery import Channel
from models.identity import Identity, Platform
from models.outbox import claim_due
from tests.delivery.outbox import confirmed_notice
from tests.seed import Roster
from tests.stack import Stack

TEXT = "本周六上午九点在社区活动室召开党员大会\n请准时参加，不能参加的请请假。"


def _dispatcher(stack: Stack) -> Dispatcher:
    return Dispatcher(
        sessions=stack.sessions,
        api=stack.app[API],
        public_url=stack.settings.public_url,
        secret=stack.settings.secret_key.get_secret_value(),
        rng=random.Random(7),
    )


async def _notice(stack: Stack, roster: Roster, rows: list[tuple[str, Channel, str]]) -> int:
    """A confirmed notice from 王书记 with one delivery row per (person key, channel, recipient)."""
    async with stack.sessions() as s:
        notice = await confirmed_notice(s, roster, TEXT, rows)
        await s.commit()
        return notice.id  # type: ignore[return-value]


async def _identity(stack: Stack, roster: Roster, key: str, platform: Platform, external_id: str) -> None:
    app_id = stack.settings.mp_appid if platform == Platform.mp else stack.settings.work_corpid
    async with stack.sessions() as s:
        s.add(Identity(platform=platform, app_id=app_id, external_id=external_id, person_id=roster.people[key].id))
        await s.commit()


async def _rows(stack: Stack) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def test_sends_each_channel_once_and_never_twice(stack: Stack, roster: Roster) -> None:
    for user in ("wangshuji", "zhaody"):
        stack.emulator.register_user("work", user)
    stack.emulator.register_user("mp", "o_li", interacted=True)
    await _notice(
        stack,
        roster,
        [
            ("wang", Channel.work_app, "wangshuji"),
            ("zhao", Channel.work_app, "zhaody"),
            ("li", Channel.mp_custom, "o_li"),
        ],
    )
    dispatcher = _dispatcher(stack)

    assert await dispatcher.run_once() == 3

    [work_call] = stack.emulator.calls("message/send")
    assert sorted(work_call.body["touser"].split("|")) == ["wangshuji", "zhaody"]
    assert work_call.body["enable_duplicate_check"] == 1 and work_call.body["duplicate_check_interval"] == 1800
    assert len(stack.emulator.calls("custom/send")) == 1
    rows = await _rows(stack)
    assert [r.status for r in rows] == [DeliveryStatus.sent] * 3
    assert all(r.sent_at is not None and r.errcode == 0 and r.lease_until is None for r in rows)

    assert await dispatcher.run_once() == 0
    assert len(stack.emulator.calls("message/send")) == 1 and len(stack.emulator.calls("custom/send")) == 1
    assert len(stack.emulator.messages("work")) == 2 and len(stack.emulator.messages("mp", "o_li")) == 1


async def test_unknown_wecom_member_falls_back_to_the_official_account(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("mp", "o_li")
    await _identity(stack, roster, "li", Platform.work, "li_not_in_corp")
    await _identity(stack, roster, "li", Platform.mp, "o_li")
    notice_id = await _notice(stack, roster, [("li", Channel.work_app, "li_not_in_corp")])
    dispatcher = _dispatcher(stack)

    assert await dispatcher.run_once() == 1
    first, fallback = await _rows(stack)
    assert first.status == DeliveryStatus.fell_back and first.reason == NOT_A_MEMBER
    assert fallback.channel == Channel.mp_template and fallback.recipient == "o_li"
    assert fallback.status == DeliveryStatus.pending and fallback.subject_id == notice_id

    assert await dispatcher.run_once() == 1
    [message] = stack.emulator.messages("mp", "o_li")
    assert message.api == "template"
    assert (await _rows(stack))[1].status == DeliveryStatus.sent
    assert await dispatcher.run_once() == 0
    await stack.emulator.drain()


async def test_outside_the_48_hour_window_falls_back_to_a_template_with_a_link(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("mp", "o_li", interacted=True)
    stack.emulator.advance_clock(48 * 3600 + 1)
    await _identity(stack, roster, "li", Platform.mp, "o_li")
    notice_id = await _notice(stack, roster, [("li", Channel.mp_custom, "o_li")])
    dispatcher = _dispatcher(stack)

    assert await dispatcher.run_once() == 1
    custom, template = await _rows(stack)
    assert custom.status == DeliveryStatus.fell_back and custom.errcode == 45015
    assert custom.reason == "用户超过48小时未互动，客服消息无法送达"
    assert template.channel == Channel.mp_template and template.status == DeliveryStatus.pending

    assert await dispatcher.run_once() == 1
    [message] = stack.emulator.messages("mp", "o_li")
    assert message.api == "template"
    body = stack.emulator.calls("template/send")[0].body
    # The link is signed for this notice and this person: it opens the notice without a login.
    prefix = f"{stack.settings.public_url}/n/"
    assert body["url"].startswith(prefix)
    secret = stack.settings.secret_key.get_secret_value()
    assert read_notice_token(secret, body["url"].removeprefix(prefix)) == (notice_id, roster.people["li"].id)
    assert body["template_id"] == "TPL_NOTICE"
    # The template's keywords, as WeChat shows them on the card: title, sender, time, how to answer.
    data = {key: value["value"] for key, value in body["data"].items()}
    assert data["thing1"] == "本周六上午九点在社区活动室召开党员大会" and data["thing2"] == "阳光社区 · 王书记"
    assert data["time3"].startswith(f"{utcnow().astimezone(stack.settings.tz).year}年")
    assert data["thing5"] == "点开详情查看，并回复“收到”" and "time4" not in data
    assert (await _rows(stack))[1].status == DeliveryStatus.sent
    await stack.emulator.drain()


async def test_transient_error_is_retried_later_and_delivered_once(stack: Stack, roster: Roster) -> None:
    for user in ("wangshuji", "zhaody"):
        stack.emulator.register_user("work", user)
    await _notice(stack, roster, [("wang", Channel.work_app, "wangshuji"), ("zhao", Channel.work_app, "zhaody")])
    stack.emulator.force_error("message/send", -1)
    dispatcher = _dispatcher(stack)

    before = utcnow()
    assert await dispatcher.run_once() == 2
    rows = await _rows(stack)
    assert [r.status for r in rows] == [DeliveryStatus.retry] * 2
    assert all(r.errcode == -1 and r.next_attempt_at > before and r.attempts == 1 for r in rows)
    assert all(r.reason == "微信系统繁忙，稍后重试" for r in rows)
    assert await dispatcher.run_once() == 0  # not due yet

    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
        await s.commit()
    assert await dispatcher.run_once() == 2
    rows = await _rows(stack)
    assert [(r.status, r.attempts, r.errcode) for r in rows] == [(DeliveryStatus.sent, 2, 0)] * 2
    assert len(stack.emulator.messages("work", "wangshuji")) == 1
    assert len(stack.emulator.messages("work", "zhaody")) == 1


async def test_transient_errors_give_up_after_max_attempts(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "wangshuji")
    await _notice(stack, roster, [("wang", Channel.work_app, "wangshuji")])
    stack.emulator.force_error("message/send", -1, count=2)
    dispatcher = Dispatcher(sessions=stack.sessions, api=stack.app[API], public_url="http://x", max_attempts=2)

    assert await dispatcher.run_once() == 1
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(next_attempt_at=utcnow()))  # type: ignore[call-overload]
        await s.commit()
    assert await dispatcher.run_once() == 1
    [row] = await _rows(stack)
    assert (row.status, row.attempts, row.errcode) == (DeliveryStatus.failed, 2, -1)


async def test_no_fallback_fails_with_a_readable_reason(stack: Stack, roster: Roster) -> None:
    await _identity(stack, roster, "zhao", Platform.work, "zhao_left")
    await _notice(stack, roster, [("zhao", Channel.work_app, "zhao_left")])

    assert await _dispatcher(stack).run_once() == 1
    [row] = await _rows(stack)
    assert row.status == DeliveryStatus.failed and row.reason == NOT_A_MEMBER and row.errcode == 81013
    assert stack.emulator.messages("work") == []


async def test_rows_of_a_dead_dispatcher_are_sent_after_the_lease(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "wangshuji")
    await _notice(stack, roster, [("wang", Channel.work_app, "wangshuji")])
    async with stack.sessions() as s:  # a dispatcher claims the row and dies before sending
        [claimed] = await claim_due(session=s, limit=10, lease=timedelta(seconds=60))
        await s.commit()
    dispatcher = _dispatcher(stack)
    assert await dispatcher.run_once() == 0  # the lease still runs

    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(lease_until=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
        await s.commit()
    assert await dispatcher.run_once() == 1
    [row] = await _rows(stack)
    # The dead claim never sent it (it was not marked sending): its attempt was given back.
    assert (row.id, row.status, row.attempts) == (claimed.id, DeliveryStatus.sent, 1)
    assert len(stack.emulator.messages("work", "wangshuji")) == 1


async def test_run_forever_delivers_and_stops(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "wangshuji")
    stop = asyncio.Event()
    task = asyncio.create_task(_dispatcher(stack).run_forever(stop, idle=0.05))
    await _notice(stack, roster, [("wang", Channel.work_app, "wangshuji")])

    assert len(await stack.emulator.wait_for_messages("work", "wangshuji", within=5.0)) == 1
    stop.set()
    await asyncio.wait_for(task, timeout=5.0)  # the round in progress settles before the loop ends
    assert (await _rows(stack))[0].status == DeliveryStatus.sent
