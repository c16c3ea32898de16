"""The Emulator: one aiohttp server playing api.weixin.qq.com (/mp), qyapi.weixin.qq.com (/work),
the control API (/emulator), and the users' phones."""

import asyncio
import logging
from collections.abc import AsyncIterator
from types import TracebackType

import httpx
from aiohttp import web

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.control import control_routes
from emulator.faults import ForcedError
from emulator.media import media_routes
from emulator.middleware import api_middleware, unknown_endpoint
from emulator.mp_api import mp_routes
from emulator.phone import Phone
from emulator.phonebook import PHONES_KEY, PhoneBook
from emulator.qr_codes import qr_routes
from emulator.records import CallRecord, RecordedMessage
from emulator.robot_api import robot_routes
from emulator.state import STATE_KEY, EmulatorState, User
from emulator.work_api import work_routes

log = logging.getLogger(__name__)


async def _phone_client(app: web.Application) -> AsyncIterator[None]:
    """The phones' HTTP client lives as long as the server runs."""
    phones = app[PHONES_KEY]
    phones.client = httpx.AsyncClient(trust_env=False)
    try:
        yield
    finally:
        await phones.close()
        await phones.client.aclose()
        phones.client = None


def create_emulator_app(emulator: "Emulator") -> web.Application:
    app = web.Application(middlewares=[api_middleware])
    app[STATE_KEY] = emulator.state
    app[PHONES_KEY] = emulator.phones
    app.cleanup_ctx.append(_phone_client)
    app.add_routes(mp_routes() + qr_routes() + media_routes() + work_routes() + robot_routes() + control_routes())
    app.router.add_route("*", "/mp/{tail:.*}", unknown_endpoint)
    app.router.add_route("*", "/work/{tail:.*}", unknown_endpoint)
    return app


class Emulator:
    """The fake WeChat of every test and of the demo. Start it, point the service at its bases."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock()
        self.state = EmulatorState(self.config, self.clock)
        self.phones = PhoneBook(self.state)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> "Emulator":
        if self._runner is not None:
            raise RuntimeError("模拟器已经在运行")
        # Pending long-polls must not hold up stop() for aiohttp's default 60 s.
        runner = web.AppRunner(create_emulator_app(self), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self._base_url = f"http://{shown}:{bound_port}"
        self.state.media.base_url = self._base_url  # a phone's PicUrl points here
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> "Emulator":
        return await self.start() if self._runner is None else self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("模拟器未启动")
        return self._base_url

    @property
    def mp_api_base(self) -> str:
        return self.base_url + "/mp"

    @property
    def work_api_base(self) -> str:
        return self.base_url + "/work"

    # Inspection

    def messages(
        self, platform: str | None = None, to: str | None = None, after: int = 0
    ) -> list[RecordedMessage]:
        return self.state.log.query(platform, to, after)

    async def wait_for_messages(
        self,
        platform: str | None = None,
        to: str | None = None,
        *,
        after: int = 0,
        count: int = 1,
        within: float = 5.0,
    ) -> list[RecordedMessage]:
        """Messages matching the filter once there are `count` of them (or `within` seconds passed)."""
        return await self.state.log.wait(platform, to, after, within, count)

    def calls(self, endpoint: str | None = None) -> list[CallRecord]:
        return [c for c in self.state.calls if endpoint is None or endpoint in c.endpoint]

    async def drain(self) -> None:
        """Wait until the callbacks the emulator sends by itself (delivery reports) are done."""
        await self.phones.drain()

    # Control

    def set_faults(
        self,
        *,
        latency_ms: float | None = None,
        error_rate: float | None = None,
        http_500_rate: float | None = None,
        drop_rate: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.state.faults.update(
            latency_ms=latency_ms,
            error_rate=error_rate,
            http_500_rate=http_500_rate,
            drop_rate=drop_rate,
            seed=seed,
        )

    def force_error(self, endpoint: str, errcode: int, count: int = 1, errmsg: str | None = None) -> None:
        """Answer the next `count` calls to `endpoint` (a path suffix, "*" for any) with `errcode`."""
        self.state.faults.forced.append(ForcedError(endpoint, errcode, count, errmsg))

    def hold_calls(self, endpoint: str) -> None:
        """Calls to `endpoint` (a path suffix) wait, received and unanswered, until released."""
        self.state.holds.hold(endpoint)

    def release_calls(self, endpoint: str | None = None) -> None:
        self.state.holds.release(endpoint)

    def waiting_calls(self, endpoint: str | None = None) -> int:
        """How many calls wait at a held endpoint now."""
        return self.state.holds.count(endpoint)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def advance_clock(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    def now(self) -> float:
        return self.clock.now()

    def reset(self) -> None:
        self.state.reset()

    def register_user(
        self,
        platform: str,
        user_id: str,
        following: bool = True,
        *,
        blocked: bool = False,
        interacted: bool = False,
        licensed: bool = True,
    ) -> User:
        return self.state.register_user(
            platform, user_id, following, blocked=blocked, interacted=interacted, licensed=licensed
        )

    def user(self, platform: str, user_id: str) -> User | None:
        return self.state.user(platform, user_id)

    def phone(self, platform: str, user_id: str) -> Phone:
        return self.phones.get(platform, user_id)


async def run_emulator_forever(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Run a standalone emulator until cancelled (the `grassroots emulator` command)."""
    emulator = Emulator(config)
    await emulator.start(host, port)
    print(f"微信模拟器已启动: {emulator.base_url}", flush=True)
    print(f"  MP_API_BASE={emulator.mp_api_base}", flush=True)
    print(f"  WORK_API_BASE={emulator.work_api_base}", flush=True)
    print(f"  控制接口: {emulator.base_url}/emulator", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()
