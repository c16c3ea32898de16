"""The demo stack in-process on a free port, over the test database (SQLite, or PostgreSQL when
GRASSROOTS_TEST_DATABASE_URL is set), built exactly as `grassroots demo` builds it."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.demo.stack import DemoStack, demo_stack


@pytest.fixture
async def demo(engine: AsyncEngine, database_url: str) -> AsyncIterator[DemoStack]:
    async with demo_stack(create_app=create_app, database_url=database_url, secret_key="demo-test-secret") as stack:
        yield stack


@pytest.fixture
async def client(demo: DemoStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.base_url, trust_env=False, timeout=30) as http:
        yield http
