"""What the bot sends through the WeChat APIs (late replies, notices) reaches the persona's chat by a
long-poll of the emulator's message log."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.delivery.channels import MpTemplateChannel
from bot.demo.stack import DemoStack, demo_stack
from bot.keys import API, SETTINGS
from bot.settings import Settings
from handlers.context import Context, Inbound
from handlers.routing import Router
from tests.demo.helpers import persona_where, send

slow = Router("slow")


@slow.text("慢慢说")
async def answer_slowly(msg: Inbound, ctx: Context) -> str:
    await asyncio.sleep(0.6)
    return "让您久等了：这条回复错过了 5 秒期限，通过客服消息发来。"


def create_slow_app(settings: Settings) -> web.Application:
    return create_app(settings, extra_routers=[slow])


@pytest.fixture
async def slow_demo(engine: AsyncEngine, database_url: str) -> AsyncIterator[DemoStack]:
    async with demo_stack(
        create_app=create_slow_app, database_url=database_url, secret_key="k", handler_deadline=0.2
    ) as stack:
        yield stack


async def test_a_late_reply_arrives_as_a_customer_service_message(slow_demo: DemoStack) -> None:
    async with httpx.AsyncClient(base_url=slow_demo.base_url, trust_env=False, timeout=30) as client:
        member = await persona_where(client, role="流动党员")
        sent = await send(client, member, text="慢慢说")
        assert sent.status_code == 200 and sent.json()["reply"] is None  # answered "success" in time

        polled = await client.get("/demo/api/inbox", params={"persona": member["id"], "after": 0, "wait": 10})

    assert polled.status_code == 200
    [message] = polled.json()["messages"]
    assert message["label"] == "客服消息" and "让您久等了" in message["content"]
    assert polled.json()["after"] == message["id"]


async def test_a_notice_wakes_the_waiting_long_poll_of_its_recipient_only(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    secretary = await persona_where(client, role="阳光社区书记")
    other = await persona_where(client, role="示范区书记")
    userid = demo.state.personas[secretary["id"]].user_id
    started = time.monotonic()
    waiting = asyncio.create_task(
        client.get("/demo/api/inbox", params={"persona": secretary["id"], "after": 0, "wait": 20})
    )
    await asyncio.sleep(0.3)

    await demo.app[API].send_work_text(userid, "明早九点召开支部委员会，请准时参加。")
    polled = await waiting

    assert time.monotonic() - started < 5
    [message] = polled.json()["messages"]
    assert message["label"] == "应用消息" and "支部委员会" in message["content"]
    quiet = await client.get("/demo/api/inbox", params={"persona": other["id"], "after": 0, "wait": 0})
    assert quiet.json() == {"messages": [], "after": 0} and isinstance(quiet.json()["after"], int)
    later = await client.get("/demo/api/inbox", params={"persona": secretary["id"], "after": message["id"], "wait": 0})
    assert later.json()["messages"] == []


async def test_a_template_message_shows_as_a_card_with_its_keywords_names(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    persona = next(p for p in demo.state.personas.values() if p.platform.value == "mp")
    demo.emulator.register_user("mp", persona.user_id)
    fields = {"thing1": "本周六上午召开党员大会", "thing2": "阳光社区 · 王书记", "time3": "2026年12月2日 09:30",
              "thing5": "点开详情查看，并回复“收到”"}
    [sent] = await MpTemplateChannel(demo.app[API]).send(
        persona.user_id, template_id="TPL_NOTICE", url="https://example.org/n/1", fields=fields
    )
    assert sent.ok

    polled = await client.get("/demo/api/inbox", params={"persona": persona.id, "after": 0, "wait": 5})

    [message] = [m for m in polled.json()["messages"] if m["label"] == "模板消息"]
    assert message["card"] == {
        "title": "工作通知",
        "fields": [["通知标题", "本周六上午召开党员大会"], ["发布单位", "阳光社区 · 王书记"],
                   ["发布时间", "2026年12月2日 09:30"], ["回复方式", "点开详情查看，并回复“收到”"]],
        "url": "https://example.org/n/1",
    }
    assert message["content"].startswith("工作通知\n通知标题：本周六上午召开党员大会")


async def test_at_night_the_page_tells_a_secretary_that_ordinary_notices_wait_for_the_morning(
    engine: AsyncEngine, database_url: str
) -> None:
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    async with demo_stack(create_app=create_app, database_url=database_url, secret_key="k",
                          quiet_hours=f"{start:%H:%M}-{end:%H:%M}") as night:
        async with httpx.AsyncClient(base_url=night.base_url, trust_env=False, timeout=30) as client:
            quiet = (await client.get("/demo/api/personas")).json()["quiet"]
            page = (await client.get("/")).text
    assert quiet["until"] == f"{end:%H:%M}"
    assert f"普通通知要到 {end:%H:%M} 才发出" in quiet["text"] and "“紧急”" in quiet["text"]
    assert "quiet.text" in page  # the chat page shows it to secretaries, with a 紧急 button


async def test_by_day_there_is_no_quiet_hours_note(client: httpx.AsyncClient, demo: DemoStack) -> None:
    demo.app[SETTINGS].quiet_hours = ""
    assert (await client.get("/demo/api/personas")).json()["quiet"] is None
