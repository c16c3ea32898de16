"""The demo at a phone in Chromium. CI sets GRASSROOTS_REQUIRE_CHROMIUM=1 (and installs Chromium), so
there a missing browser fails instead of skipping."""

import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.stack import DemoStack, demo_stack
from tests.phone.browser import CHROMIUM, PHONE


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists() and not os.environ.get("GRASSROOTS_REQUIRE_CHROMIUM"):
        pytest.skip("/usr/bin/chromium 不存在：apt-get install -y chromium 后可运行此测试")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    yield await context.new_page()
    await context.close()


async def _demo(database_url: str, quiet_hours: str) -> AsyncIterator[DemoStack]:
    async with demo_stack(create_app=create_app, database_url=database_url, secret_key="phone-test-secret",
                          quiet_hours=quiet_hours) as stack:
        yield stack


@pytest.fixture
async def demo_by_day(engine: AsyncEngine, database_url: str) -> AsyncIterator[DemoStack]:
    """No quiet hours: notices go at once, whenever the suite runs."""
    async for stack in _demo(database_url, ""):
        yield stack


@pytest.fixture
async def demo_at_night(engine: AsyncEngine, database_url: str) -> AsyncIterator[DemoStack]:
    """Quiet hours around the present moment, as at 23:00 with the usual 21:30–07:30."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    async for stack in _demo(database_url, f"{start:%H:%M}-{end:%H:%M}"):
        yield stack
