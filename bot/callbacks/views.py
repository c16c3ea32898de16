"""aiohttp views for /wechat/mp and /wechat/work. Thin: verify, parse, hand over, answer.

Before the signature is proven we answer 4xx with a reason; after it, always a reply, "success" or an
empty body — never a 5xx, which WeChat shows the user as 「该公众号暂时无法提供服务」."""

import logging
import time

from aiohttp import web

from bot.callbacks.endpoint import Endpoint
from bot.callbacks.parsing import BadCallback, to_inbound, xml_fields
from bot.keys import ENDPOINTS, METRICS, SERVICE, SETTINGS
from models.identity import Platform

log = logging.getLogger(__name__)
TEXT = "text/plain"
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
TEXT_HEADERS = {"Content-Type": "text/plain; charset=utf-8"}


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BadCallback(413, f"消息体超过 {limit // 1024} KiB")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise BadCallback(413, f"消息体超过 {limit // 1024} KiB")
    return body


def _endpoint(request: web.Request, platform: Platform) -> Endpoint:
    endpoint = request.app[ENDPOINTS].get(platform)
    if endpoint is None:
        raise web.HTTPNotFound(text="该回调未配置")
    return endpoint


async def verify_url(request: web.Request, platform: Platform) -> web.Response:
    try:
        return web.Response(text=_endpoint(request, platform).verify_url(request.query), content_type=TEXT)
    except BadCallback as exc:
        return web.Response(status=exc.status, text=exc.reason, content_type=TEXT)


async def receive(request: web.Request, platform: Platform) -> web.Response:
    started = time.perf_counter()
    metrics = request.app[METRICS]
    endpoint = _endpoint(request, platform)
    try:
        body = await _read_limited(request, request.app[SETTINGS].max_body_bytes)
        plaintext = endpoint.open(request.query, body)
        msg = to_inbound(xml_fields(plaintext), platform, endpoint.app_id)
    except BadCallback as exc:
        metrics.callback(platform.value, f"rejected_{exc.status}")
        return web.Response(status=exc.status, text=exc.reason, content_type=TEXT)
    try:
        answer = await request.app[SERVICE].handle(msg)
        body_out = endpoint.seal(request.query, answer.body) if answer.body.startswith("<xml") else answer.body
        outcome = answer.outcome
    except Exception:
        log.exception("callback pipeline failed after a valid signature")
        body_out, outcome = "success", "error"
    metrics.callback(platform.value, outcome, time.perf_counter() - started)
    headers = XML_HEADERS if body_out.startswith("<xml") else TEXT_HEADERS
    return web.Response(body=body_out.encode(), headers=headers)


def add_routes(app: web.Application) -> None:
    async def mp_get(request: web.Request) -> web.Response:
        return await verify_url(request, Platform.mp)

    async def mp_post(request: web.Request) -> web.Response:
        return await receive(request, Platform.mp)

    async def work_get(request: web.Request) -> web.Response:
        return await verify_url(request, Platform.work)

    async def work_post(request: web.Request) -> web.Response:
        return await receive(request, Platform.work)

    app.router.add_get("/wechat/mp", mp_get)
    app.router.add_post("/wechat/mp", mp_post)
    app.router.add_get("/wechat/work", work_get)
    app.router.add_post("/wechat/work", work_post)
