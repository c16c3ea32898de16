"""The emulator's phones, their HTTP client, and callbacks WeChat itself sends (delivery reports)."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import httpx
from aiohttp import web

from emulator.callback_crypto import CallbackCodec
from emulator.errors import PhoneError
from emulator.phone import Phone
from emulator.state import EmulatorState

log = logging.getLogger(__name__)


class PhoneBook:
    """One Phone per (platform, user), so `replay()` works across calls; background sends tracked."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.client: httpx.AsyncClient | None = None
        self._phones: dict[tuple[str, str], Phone] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            raise PhoneError("模拟器未启动（先 await emulator.start()）")
        return self.client

    def codec(self, platform: str) -> CallbackCodec:
        return CallbackCodec.for_platform(self.state.config, platform)

    def get(self, platform: str, user_id: str) -> Phone:
        if platform not in ("mp", "work"):
            raise ValueError(f"未知平台: {platform}（应为 mp 或 work）")
        key = (platform, user_id)
        if key not in self._phones:
            self._phones[key] = Phone(self, platform, user_id)
        return self._phones[key]

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def report_template(self, openid: str, msgid: int, status: str) -> None:
        """WeChat reports a template message's delivery with a TEMPLATESENDJOBFINISH event."""
        self.spawn(self._report_template(openid, msgid, status))

    async def _report_template(self, openid: str, msgid: int, status: str) -> None:
        await asyncio.sleep(self.state.config.template_report_delay)
        if not self.state.config.mp_callback_url:
            return
        phone = self.get("mp", openid)
        xml = phone.event_xml("TEMPLATESENDJOBFINISH", None, MsgID=msgid, Status=status)
        params, body = phone.build_request(xml)
        try:
            # Not the user's action: no interaction recorded, and replay() still resends the user's last.
            await phone.post(params, body, remember=False)
        except PhoneError as exc:
            log.warning("TEMPLATESENDJOBFINISH 回调失败 (%s, msgid %s): %s", openid, msgid, exc)

    async def drain(self) -> None:
        """Wait for pending background callbacks (tests use this before checking the service)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._tasks.clear()


PHONES_KEY = web.AppKey("emulator_phones", PhoneBook)
