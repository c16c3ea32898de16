"""The persona picker offers every role at once, each with its platform, and the page lives only in the demo."""

import httpx
from sqlmodel import select

from bot.app import create_app
from bot.demo.stack import DemoStack, demo_settings
from bot.keys import SESSIONS
from models import Identity
from tests.demo.helpers import personas


async def test_every_group_and_role_is_offered(client: httpx.AsyncClient) -> None:
    listed = await personas(client)
    by_role = {p["role"]: p for p in listed}

    assert {p["group"] for p in listed} == {"书记", "党员", "居民", "驻区单位"}
    assert {"示范区书记", "朝阳街道书记", "阳光社区书记", "流动党员", "在职党员", "阳光社区居民"} <= set(by_role)
    assert by_role["阳光社区书记"]["group"] == "书记" and by_role["阳光社区书记"]["platform_name"] == "企业微信"
    assert by_role["流动党员"]["platform_name"] == "公众号" and by_role["流动党员"]["bound"]
    assert by_role["新居民（未关注）"]["group"] == "居民" and not by_role["新居民（未关注）"]["bound"]
    assert len([p for p in listed if p["group"] == "驻区单位"]) == 3
    assert {p["platform_name"] for p in listed} == {"公众号", "企业微信"}
    for p in listed:
        assert p["name"] and p["hint"] and p["actions"]


async def test_one_or_two_members_wait_to_bind_with_the_code_on_their_card(client: httpx.AsyncClient) -> None:
    unbound = [p for p in await personas(client) if p["group"] == "党员" and p["invite_code"]]

    assert 1 <= len(unbound) <= 2
    for p in unbound:
        assert p["platform"] == "mp" and not p["bound"]
        assert f"绑定 {p['invite_code']}" in p["hint"]


async def test_official_account_personas_are_bound_in_the_database(demo: DemoStack) -> None:
    bound = [p for p in demo.personas if p.platform == "mp" and p.person_id is not None]
    async with demo.app[SESSIONS]() as session:
        rows = {i.external_id: i.person_id for i in await session.exec(select(Identity))}
    prebound = [p for p in bound if rows.get(p.user_id) == p.person_id]
    assert len(prebound) >= 5  # secretaries, members, a resident, representatives
    assert all(p.user_id.startswith("o_demo_") for p in prebound)


async def test_the_chat_page_is_served_by_the_demo_only(
    client: httpx.AsyncClient, demo: DemoStack, database_url: str
) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "选择身份" in page.text and "/demo/api/" in page.text
    assert "<script src" not in page.text and "<link" not in page.text  # self-contained, works offline

    plain = create_app(demo_settings(demo.emulator, database_url=database_url, secret_key="x"))
    assert not [r for r in plain.router.routes() if r.method == "GET" and r.resource and r.resource.canonical == "/"]
    assert not [r for r in plain.router.resources() if r.canonical.startswith("/demo")]
