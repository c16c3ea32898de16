"""The chat page in a real (headless) browser: ?persona=&say= opens a persona and sends a text, and the
bot's answer ends up in the page."""

import asyncio
import os
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.demo.stack import DemoStack
from tests.demo.helpers import persona_where

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=8000",
]

# CI sets GRASSROOTS_REQUIRE_CHROMIUM=1 and installs Chromium: there a missing browser is a failure.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("GRASSROOTS_REQUIRE_CHROMIUM"),
    reason="/usr/bin/chromium 不存在：apt-get install -y chromium 后可运行此测试",
)


async def dump_dom(url: str, profile: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return out.decode()


@needs_chromium
async def test_the_page_opens_a_persona_and_shows_the_answer(
    client: httpx.AsyncClient, demo: DemoStack, tmp_path: Path
) -> None:
    secretary = await persona_where(client, role="阳光社区书记")
    query = urlencode({"persona": secretary["id"], "say": "帮助"})

    dom = await dump_dom(f"{demo.base_url}/?{query}", tmp_path / "profile")

    assert secretary["name"] in dom and "阳光社区书记" in dom
    assert "可用指令" in dom and "后台 — 获取管理页面链接" in dom


@needs_chromium
async def test_links_in_the_bots_answers_are_clickable(
    client: httpx.AsyncClient, demo: DemoStack, tmp_path: Path
) -> None:
    secretary = await persona_where(client, role="阳光社区第一党支部书记")
    query = urlencode({"persona": secretary["id"], "say": "后台"})

    dom = await dump_dom(f"{demo.base_url}/?{query}", tmp_path / "profile")

    assert f'<a href="{demo.base_url}/admin/login?t=' in dom
