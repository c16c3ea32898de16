"""The demo, assembled: the emulator on a free loopback port, the service pointed at it, the demo roster
seeded, the personas prepared, and the chat page mounted. `run_demo` and the tests both use it."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from bot.demo.meetings import seed_demo_meetings
from bot.demo.personas import NEWCOMER, Persona, prepare_personas
from bot.demo.routes import add_demo_routes
from bot.demo.state import DemoState
from bot.keys import SESSIONS
from bot.roster.demo_seed import seed_demo
from bot.roster.report import ImportReport
from bot.settings import Settings
from bot.settings_for_emulator import service_settings
from emulator import Emulator, EmulatorConfig, Phone
from models.organisation import Organisation
from models.person import Person
from models.typed import col_not_none

HOST = "127.0.0.1"  # the demo has pre-bound personas and a fake WeChat: never reachable from outside
AppFactory = Callable[[Settings], web.Application]


class DemoSetupError(Exception):
    """The demo could not be prepared; the message says why, in Chinese."""


@dataclass
class DemoStack:
    emulator: Emulator
    app: web.Application
    settings: Settings
    state: DemoState
    base_url: str
    seed_report: ImportReport

    @property
    def personas(self) -> list[Persona]:
        return list(self.state.personas.values())

    def phone(self, persona: Persona) -> Phone:
        return self.emulator.phone(persona.platform.value, persona.user_id)


def demo_settings(emulator: Emulator, *, database_url: str, secret_key: str, **overrides: Any) -> Settings:
    """Settings pointing the service's WeChat clients at the emulator, with its credentials."""
    return service_settings(emulator, database_url=database_url, host=HOST, secret_key=secret_key, **overrides)


async def _seed(app: web.Application, state: DemoState, settings: Settings) -> ImportReport:
    report = await seed_demo(session_factory=app[SESSIONS])
    if not report.ok:
        raise DemoSetupError("演示数据导入失败：\n" + report.render())
    async with app[SESSIONS]() as session:
        personas, community = await prepare_personas(session=session, mp_app_id=settings.mp_appid)
        await seed_demo_meetings(session=session, now=datetime.now(settings.tz), quiet=settings.quiet_window)
        await session.commit()
    state.set_personas(personas, community)
    async with app[SESSIONS]() as session:
        userids = list(await session.exec(
            select(col_not_none(Person.work_userid)).where(col(Person.work_userid).is_not(None))
        ))
        robot_keys = select(col_not_none(Organisation.robot_key)).where(col(Organisation.robot_key).is_not(None))
        robots = list(await session.exec(robot_keys))
    # The communities' group robots exist in the demo's WeCom too.
    state.emulator.config.robot_keys.extend(key for key in robots if key not in state.emulator.config.robot_keys)
    for userid in userids:
        # Everyone the roster names a WeCom account for is a member of the demo corp: notices reach them
        # by userid even before they open the app (only personas can chat, the others just receive).
        state.emulator.register_user("work", userid)
    for persona in personas:
        # The newcomer has not followed yet; everyone else follows the account or is in the corp.
        state.emulator.register_user(persona.platform.value, persona.user_id, following=persona.id != NEWCOMER)
    return report


@asynccontextmanager
async def demo_stack(
    *, create_app: AppFactory, database_url: str, secret_key: str, port: int = 0, **overrides: Any
) -> AsyncIterator[DemoStack]:
    """Runs the demo on HOST:`port` (0: any free port) until the block ends. The database must be
    migrated already. Raises OSError when the port is taken, DemoSetupError when the seed fails."""
    emulator = Emulator(EmulatorConfig(mp_safe_mode=True))
    await emulator.start(HOST, 0)
    try:
        # public_url is set again once the port is bound (port 0 is only known then).
        settings = demo_settings(
            emulator, database_url=database_url, secret_key=secret_key, public_url=f"http://{HOST}:{port or 80}",
            **overrides,
        )
        app = create_app(settings)
        state = DemoState(emulator)
        add_demo_routes(app, state)
        # A short grace period: the page's long-polls are answered on shutdown, nothing else lingers.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            report = await _seed(app, state, settings)
            await web.TCPSite(runner, HOST, port).start()
            base_url = f"http://{HOST}:{runner.addresses[0][1]}"
            settings.public_url = base_url
            emulator.config.mp_callback_url = f"{base_url}/wechat/mp"
            emulator.config.work_callback_url = f"{base_url}/wechat/work"
            yield DemoStack(emulator, app, settings, state, base_url, report)
        finally:
            await runner.cleanup()
    finally:
        await emulator.stop()
