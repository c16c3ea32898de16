"""WeChat retries a callback it got no answer to within 5 s: a retry gets the same reply and never runs
the handler twice; a handler that runs long is answered "success" and its reply goes through the API."""

import asyncio
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from handlers.context import Context, Inbound
from handlers.routing import Router
from models import AuditEntry, InboundMessage, InboundStatus
from models.clock import utcnow
from tests.conftest import running_stack
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack


async def _count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_a_retried_bind_gets_the_same_reply_and_binds_once(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    first = await phone.send_text("绑定 LI2345")
    retry = await phone.replay()

    assert first.content == retry.content and "绑定成功" in retry.content
    assert await _count(stack, InboundMessage) == 1
    assert await _count(stack, AuditEntry, AuditEntry.action == "identity.bind") == 1


async def test_concurrent_retries_run_the_handler_once(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    params, body = phone.build_request(phone.message_xml("text", [("Content", "绑定 LI2345"), ("MsgId", 99)]))
    replies = await asyncio.gather(*(phone.post(params, body) for _ in range(4)))

    assert len({r.content for r in replies}) == 1 and "绑定成功" in replies[0].content
    assert await _count(stack, AuditEntry, AuditEntry.action == "identity.bind") == 1


async def test_a_retry_reaching_another_instance_gets_the_stored_reply(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    first = await phone.send_text("绑定 LI2345")
    # A second service process on the same database, as behind a load balancer.
    async with running_stack(stack.settings.database_url) as other:
        other.emulator.config.mp_callback_url = other.base_url + "/wechat/mp"
        params, body = phone.last_request  # type: ignore[misc]
        async with other.http() as http:
            response = await http.post("/wechat/mp", params=params, content=body)
    assert response.status_code == 200
    assert first.content and phone.codec.open_reply(response.text)["Content"] == first.content
    assert await _count(stack, AuditEntry, AuditEntry.action == "identity.bind") == 1


async def test_a_repeated_event_is_handled_once(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_res")
    await phone.send_event("subscribe", "qrscene_C01")
    await phone.replay()
    assert await _count(stack, AuditEntry, AuditEntry.action == "resident.join") == 1


slow = Router("slow")
calls: list[str] = []


@slow.text("慢")
async def slow_answer(msg: Inbound, ctx: Context) -> str:
    calls.append(msg.from_user)
    await asyncio.sleep(0.6)
    return "久等了，这是结果。"


@slow.text("坏")
async def broken(msg: Inbound, ctx: Context) -> str:
    raise RuntimeError("bug")


async def test_a_slow_handler_answers_success_then_sends_through_the_api(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    calls.clear()
    async with running_stack(database_url, extra_routers=[slow], handler_deadline=0.2) as stack:
        await seed_small_roster(stack.sessions)
        phone = stack.phone("mp", "o_slow")
        reply = await phone.send_text("慢")
        assert reply.raw == "success"

        retry = await phone.replay()  # WeChat's retry while the handler still runs
        assert retry.raw == "success"

        sent = await stack.emulator.wait_for_messages("mp", "o_slow", within=3)
        assert [m.content for m in sent] == ["久等了，这是结果。"]
        assert calls == ["o_slow"]
        await asyncio.sleep(0.1)
        async with stack.sessions() as s:
            row = (await s.exec(select(InboundMessage))).one()
        assert row.status == InboundStatus.sent


async def test_a_failing_handler_gets_an_apology_not_a_500(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(database_url, extra_routers=[slow]) as stack:
        reply = await stack.phone("mp", "o_x").send_text("坏")
        assert reply.status == 200 and "系统繁忙" in reply.content
        async with stack.sessions() as s:
            row = (await s.exec(select(InboundMessage))).one()
        assert row.status == InboundStatus.failed


async def test_a_callback_orphaned_by_a_crash_is_handled_on_the_retry(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    params, body = phone.build_request(phone.message_xml("text", [("Content", "绑定 LI2345"), ("MsgId", 555)]))
    # The first delivery was logged by a process that died before handling it.
    async with stack.sessions() as s:
        s.add(InboundMessage(dedupe_key=f"mp:{stack.settings.mp_appid}:m:555", platform="mp", from_user="o_li",
                             msg_type="text", content="绑定 LI2345", received_at=utcnow() - timedelta(seconds=30)))
        await s.commit()

    retry = await phone.post(params, body)

    assert "绑定成功" in retry.content
    assert await _count(stack, AuditEntry, AuditEntry.action == "identity.bind") == 1


async def test_a_retried_help_request_gets_the_identical_reply_and_one_log_row(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_new")
    first = await phone.send_text("帮助")
    await asyncio.sleep(1.1)  # a later CreateTime would show if the reply were rendered again
    retry = await phone.replay()

    assert first.reply == retry.reply and "可用指令" in retry.content
    assert await _count(stack, InboundMessage) == 1
    async with stack.sessions() as s:
        row = (await s.exec(select(InboundMessage))).one()
    assert row.status == InboundStatus.replied and row.reply and "可用指令" in row.reply
