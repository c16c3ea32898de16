"""The app factory: everything is built here from the settings, never at import time, and opened and
closed in order through cleanup contexts."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import httpx
from aiohttp import web

import handlers
from bot.callbacks import views as callback_views
from bot.callbacks.endpoint import Endpoint
from bot.callbacks.hot_path import CallbackHotPath
from bot.callbacks.journal import InboundJournal
from bot.callbacks.late import ApiLateSender
from bot.callbacks.service import CallbackService
from bot.db import create_engine, create_session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.reports import TemplateReports
from bot.directory_cache import DirectoryCache
from bot.keys import (
    API,
    DIRECTORY,
    ENDPOINTS,
    ENGINE,
    HTTP,
    JOURNAL,
    METRICS,
    ROUTERS,
    SERVICE,
    SESSIONS,
    SETTINGS,
)
from bot.media_fetcher import MediaFetcher
from bot.metrics import Metrics
from bot.settings import Settings
from bot.web import (
    admin,
    api_compliance,
    api_meetings,
    api_notices,
    attendance_page,
    calendar_feed,
    compliance_page,
    inquiries_page,
    ledger,
    notice_page,
    ops,
    progress_page,
    record_page,
    signin_page,
)
from bot.wechat.api import WeChatApi
from bot.wechat.crypto import CallbackCrypto
from bot.wechat.tokens import TokenStore
from handlers.routing import Router
from models.identity import Platform
from schedules.scheduler import build_scheduler

log = logging.getLogger(__name__)


def build_endpoints(settings: Settings) -> dict[Platform, Endpoint]:
    endpoints = {}
    if settings.mp_enabled:
        crypto = CallbackCrypto(
            settings.mp_token.get_secret_value(), settings.mp_aes_key.get_secret_value(), settings.mp_appid, "mp"
        )
        endpoints[Platform.mp] = Endpoint(Platform.mp, settings.mp_appid, crypto, settings.callback_max_skew)
    if settings.work_enabled:
        crypto = CallbackCrypto(
            settings.work_token.get_secret_value(),
            settings.work_aes_key.get_secret_value(),
            settings.work_corpid,
            "work",
        )
        endpoints[Platform.work] = Endpoint(Platform.work, settings.work_corpid, crypto, settings.callback_max_skew)
    return endpoints


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[SESSIONS] = create_session_factory(engine)
    yield
    await engine.dispose()


async def _http(app: web.Application) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
        app[HTTP] = client
        app[API] = WeChatApi(app[SETTINGS], client, TokenStore(app[SESSIONS]))
        yield


async def _callbacks(app: web.Application) -> AsyncIterator[None]:
    journal = InboundJournal(app[ENGINE])
    directory = DirectoryCache(app[SESSIONS], miss_refresh=app[SETTINGS].directory_miss_refresh)
    journal.observe_batch = app[METRICS].journal_batch.observe
    app[METRICS].watch_directory(directory)
    await journal.start()
    await directory.start()
    hot = CallbackHotPath(engine=app[ENGINE], journal=journal, directory=directory)
    await hot.start()
    app[JOURNAL], app[DIRECTORY] = journal, directory
    # A name first: passed straight as the Sequence[Router] argument, mypy infers the key's type from
    # that (AppKey[Sequence[Router]]) and rejects the tuple key.
    routers = app[ROUTERS]
    app[SERVICE] = service = CallbackService(
        settings=app[SETTINGS],
        journal=journal,
        directory=directory,
        sessions=app[SESSIONS],
        routers=routers,
        help_book=handlers.build_help_book(),
        late_sender=ApiLateSender(app[API]),
        metrics=app[METRICS],
        platform_events={"templatesendjobfinish": TemplateReports(app[SESSIONS])},
        hot=hot,
    )
    yield
    await service.drain()
    await hot.close()
    await directory.stop()
    await journal.stop()


async def _delivery(app: web.Application) -> AsyncIterator[None]:
    """The outbox dispatcher of this process. Several processes may run one each: claims decide."""
    settings = app[SETTINGS]
    dispatcher = Dispatcher(
        sessions=app[SESSIONS],
        api=app[API],
        secret=settings.secret_key.get_secret_value(),
        template_id=settings.mp_template_id,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
        before_wave=app[SERVICE].activity.let_through,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop, idle=settings.dispatch_idle), name="delivery")
    yield
    stop.set()
    await task


async def _media(app: web.Application) -> AsyncIterator[None]:
    """The meeting-photo fetcher of this process, beside the dispatcher: claims decide who fetches."""
    fetcher = MediaFetcher(sessions=app[SESSIONS], api=app[API])
    stop = asyncio.Event()
    task = asyncio.create_task(fetcher.run_forever(stop, idle=app[SETTINGS].media_fetch_idle), name="media")
    yield
    stop.set()
    await task


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    scheduler = build_scheduler(
        sessions=app[SESSIONS],
        timezone=settings.timezone,
        quiet_window=settings.quiet_window,
        remind_after_hours=settings.remind_after_hours,
        remind_max=settings.remind_max,
        remind_every_seconds=settings.remind_every_seconds,
        meeting_obligations=settings.meeting_obligations,
        reminder_offsets=settings.reminder_offsets,
    )
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)


def create_app(settings: Settings, *, extra_routers: Sequence[Router] = ()) -> web.Application:
    """`extra_routers` take precedence over the built-in ones (tests add slow or failing handlers)."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[ROUTERS] = (*extra_routers, *handlers.ROUTERS)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[ENDPOINTS] = build_endpoints(settings)
    app.cleanup_ctx.extend([_database, _http, _callbacks, _delivery, _media, _scheduler])
    callback_views.add_routes(app)
    ops.add_routes(app)
    admin.add_routes(app)
    inquiries_page.add_routes(app)
    progress_page.add_routes(app)
    notice_page.add_routes(app)
    api_notices.add_routes(app)
    ledger.add_routes(app)  # before api_meetings: /api/meetings/ledger.xlsx is not a meeting's id
    api_meetings.add_routes(app)
    record_page.add_routes(app)
    api_compliance.add_routes(app)
    compliance_page.add_routes(app)
    signin_page.add_routes(app)
    attendance_page.add_routes(app)
    calendar_feed.add_routes(app)
    return app
