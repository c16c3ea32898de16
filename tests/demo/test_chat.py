"""Chatting as a persona goes through the real callback path: the emulator's phone posts a signed,
encrypted callback to /wechat/mp or /wechat/work and the passive reply comes back to the page."""

import asyncio
from typing import Any

import httpx
from sqlmodel import select

from bot.demo.stack import DemoStack
from bot.keys import SESSIONS
from models import Delivery, DeliveryStatus, InboundMessage
from models.delivery import Channel
from tests.demo.helpers import persona_where, personas, say, send


def secretary_user_id(demo: DemoStack, persona: dict[str, Any]) -> str:
    return demo.state.personas[persona["id"]].user_id


async def test_a_secretary_asks_for_help(client: httpx.AsyncClient, demo: DemoStack) -> None:
    secretary = await persona_where(client, role="阳光社区书记")

    reply = await say(client, secretary, "帮助")

    assert "可用指令" in reply and "后台" in reply and "阳光社区 书记" in reply
    assert (await persona_where(client, id=secretary["id"]))["bound"]  # bound from the roster on the way
    async with demo.app[SESSIONS]() as session:
        logged = (await session.exec(select(InboundMessage).where(InboundMessage.content == "帮助"))).one()
    assert logged.platform == "work" and logged.from_user == secretary_user_id(demo, secretary)


async def test_the_admin_link_a_secretary_gets_opens_the_admin_page(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    secretary = await persona_where(client, role="阳光社区第一党支部书记")

    reply = await say(client, secretary, "后台")

    params, _body = demo.phone(demo.state.personas[secretary["id"]]).last_request or ({}, b"")
    assert params["encrypt_type"] == "aes" and params["msg_signature"]  # safe mode, as WeChat sends it
    link = next(word for word in reply.split() if word.startswith(f"{demo.base_url}/admin/login?t="))
    async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as browser:
        page = await browser.get(link)
    assert page.status_code == 200 and "阳光社区第一党支部" in page.text


async def test_an_unbound_member_binds_with_the_code_on_the_card(client: httpx.AsyncClient) -> None:
    member = next(p for p in await personas(client) if p["invite_code"])

    reply = await say(client, member, f"绑定 {member['invite_code']}")

    assert "绑定成功" in reply and member["name"] in reply
    after = await persona_where(client, id=member["id"])
    assert after["bound"] and after["invite_code"] is None and after["hint"] == "已绑定"


async def test_the_newcomer_scans_the_community_code_and_joins(client: httpx.AsyncClient) -> None:
    newcomer = await persona_where(client, id="newcomer")
    assert newcomer["actions"][0] == {"id": "scan", "label": "扫码关注阳光社区"}

    refused = await send(client, newcomer, text="你好")
    assert refused.status_code == 409 and "关注" in refused.json()["error"]

    joined = await send(client, newcomer, action="scan")
    assert joined.status_code == 200
    assert "欢迎" in joined.json()["reply"] and "已加入阳光社区" in joined.json()["reply"]
    assert (await persona_where(client, id="newcomer"))["bound"]

    again = await send(client, newcomer, action="scan")  # a follower's scan is a SCAN event
    assert "您的所在社区是阳光社区" in again.json()["reply"]


async def test_a_wecom_member_entering_the_app_is_bound_from_the_roster(client: httpx.AsyncClient) -> None:
    member = await persona_where(client, role="在职党员")
    assert member["platform"] == "work" and not member["bound"]

    response = await send(client, member, action="enter_agent")

    assert response.status_code == 200 and "已按花名册自动关联" in response.json()["reply"]
    assert (await persona_where(client, id=member["id"]))["bound"]


async def test_unfollowing_silences_the_chat_until_following_again(client: httpx.AsyncClient) -> None:
    resident = await persona_where(client, role="阳光社区居民")

    gone = await send(client, resident, action="unsubscribe")
    assert gone.status_code == 200 and gone.json()["reply"] is None
    assert (await send(client, resident, text="帮助")).status_code == 409
    assert (await send(client, resident, action="unsubscribe")).status_code == 409

    back = await send(client, resident, action="subscribe")
    assert back.status_code == 200 and "欢迎关注" in back.json()["reply"]
    assert "居民" in await say(client, resident, "帮助")


async def test_the_district_passes_a_task_to_the_streets_and_it_reaches_every_street_secretary(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    """Street secretaries who never opened the app are still reached: the demo corp knows the roster's
    WeCom accounts, as a real corp would."""
    district = await persona_where(client, role="示范区书记")
    street = await persona_where(client, role="朝阳街道书记")
    first = await say(client, district, "发通知：请各街道本月底前完成党员信息采集")
    streets = [line.split(".")[0] for line in first.splitlines() if "（街道，" in line]
    await say(client, district, " ".join(streets))
    for answer in ("4", "紧急", "是"):
        await say(client, district, answer)
    preview = await say(client, district, "3天后")
    assert "无法送达" not in preview, preview
    assert "已确认" in await say(client, district, "确认")

    await _all_sent(demo)

    preview = await say(client, street, "下发 请各社区周五前报送")
    assert "将下发给" in preview and "补充说明：请各社区周五前报送" in preview
    passed = await say(client, street, "确认")
    assert "已下发给" in passed and "编号" in passed


async def _all_sent(demo: DemoStack) -> list[Delivery]:
    """Waits (5 s at most) until every outbox row is sent; fails with the rows' reasons otherwise."""
    async with demo.app[SESSIONS]() as session:
        for _ in range(50):
            rows = list(await session.exec(select(Delivery)))
            if rows and all(r.status == DeliveryStatus.sent for r in rows):
                return rows
            await session.rollback()
            await asyncio.sleep(0.1)
    raise AssertionError([(r.channel, r.recipient, r.status, r.reason) for r in rows])


async def test_a_community_notice_reaches_unbound_members_through_the_community_robot(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    secretary = await persona_where(client, role="阳光社区书记")
    await say(client, secretary, "发通知：周六上午九点社区大扫除")
    for answer in ("1", "好", "紧急", "是"):
        await say(client, secretary, answer)
    preview = await say(client, secretary, "无")
    assert "通过组织群机器人@手机号提醒" in preview and "无法送达" not in preview
    assert "已确认" in await say(client, secretary, "确认")

    rows = await _all_sent(demo)
    assert any(r.channel == Channel.robot and r.recipient == "demo-robot-C01" for r in rows)
