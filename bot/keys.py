"""Typed application state keys (aiohttp: "data sharing aka no singletons please")."""

import httpx
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.endpoint import Endpoint
from bot.callbacks.journal import InboundJournal
from bot.callbacks.service import CallbackService
from bot.db import SessionFactory
from bot.directory_cache import DirectoryCache
from bot.metrics import Metrics
from bot.settings import Settings
from bot.wechat.api import WeChatApi
from handlers.routing import Router
from models.identity import Platform

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", SessionFactory)
METRICS = web.AppKey("metrics", Metrics)
HTTP = web.AppKey("http", httpx.AsyncClient)
API = web.AppKey("api", WeChatApi)
JOURNAL = web.AppKey("journal", InboundJournal)
DIRECTORY = web.AppKey("directory", DirectoryCache)
SERVICE = web.AppKey("callback_service", CallbackService)
ENDPOINTS = web.AppKey("endpoints", dict[Platform, Endpoint])
ROUTERS = web.AppKey("routers", tuple[Router, ...])
