"""The whole service on a loopback port, wired to the WeChat emulator on another: what the tests drive."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web

from bot.app import create_app
from bot.db import SessionFactory
from bot.keys import SESSIONS
from bot.settings import Settings
from bot.settings_for_emulator import service_settings
from emulator import Emulator, EmulatorConfig, Phone
from handlers.routing import Router


@dataclass
class Stack:
    emulator: Emulator
    app: web.Application
    settings: Settings
    base_url: str

    @property
    def sessions(self) -> SessionFactory:
        return self.app[SESSIONS]

    def phone(self, platform: str, user_id: str) -> Phone:
        return self.emulator.phone(platform, user_id)

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, **kwargs)


@asynccontextmanager
async def running_stack(
    database_url: str, *, extra_routers: Sequence[Router] = (), mp_safe_mode: bool = True, **overrides: Any
) -> AsyncIterator[Stack]:
    config = EmulatorConfig(mp_safe_mode=mp_safe_mode)
    emulator = Emulator(config)
    await emulator.start()
    # Tests write the roster straight into the database, as another instance would, and send at once:
    # every miss reads the change log, so what was committed before a message is seen by it.
    overrides.setdefault("directory_miss_refresh", 0)
    # Whatever the hour the suite runs at: tests that are about quiet hours set them themselves.
    overrides.setdefault("quiet_hours", "")
    settings = service_settings(emulator, database_url=database_url, secret_key="test-secret-key", **overrides)
    app = create_app(settings, extra_routers=extra_routers)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://127.0.0.1:{port}"
    settings.public_url = base_url
    config.mp_callback_url = f"{base_url}/wechat/mp"
    config.work_callback_url = f"{base_url}/wechat/work"
    try:
        yield Stack(emulator, app, settings, base_url)
    finally:
        await runner.cleanup()
        await emulator.stop()
