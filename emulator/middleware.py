"""The layer around every emulated API call: injected faults first, then the call log."""

import asyncio
import json
from typing import Any

from aiohttp import web

from emulator.answers import answer
from emulator.faults import FAULT_DROP, FAULT_HTTP_500, Fault
from emulator.records import CALL_NOTES, CallNotes
from emulator.state import STATE_KEY

API_PREFIXES = ("/mp/", "/work/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


async def _body_for_log(request: web.Request) -> Any:
    if not request.body_exists:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:2000].decode(errors="replace")


def _errcode_of(response: web.StreamResponse) -> int | None:
    body = getattr(response, "body", None)
    if response.content_type != "application/json" or not isinstance(body, bytes):
        return None
    try:
        return json.loads(body).get("errcode", 0)
    except (ValueError, AttributeError):
        return None


def _faulty_response(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == FAULT_DROP:
        if request.transport is not None:
            request.transport.close()  # the client sees the connection closed without an answer
        return web.Response(status=200)
    if fault.kind == FAULT_HTTP_500:
        return web.Response(
            status=500, text="<html><body>500 Internal Server Error</body></html>", content_type="text/html"
        )
    return answer(fault.errcode if fault.errcode is not None else -1, fault.errmsg)


@web.middleware
async def api_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not is_api_path(request.path):
        return await handler(request)
    state = request.app[STATE_KEY]
    body = await _body_for_log(request)
    await state.holds.pass_through(request.path)
    if state.faults.latency_ms:
        await asyncio.sleep(state.faults.latency_ms / 1000)
    fault = state.faults.pick(request.path)
    notes = CallNotes()
    reset_token = CALL_NOTES.set(notes)
    try:
        response = await handler(request) if fault is None else _faulty_response(request, fault)
    finally:
        CALL_NOTES.reset(reset_token)
    dropped = fault is not None and fault.kind == FAULT_DROP
    state.record_call(
        method=request.method,
        endpoint=request.path,
        args=dict(request.query),
        body=body,
        errcode=None if dropped else _errcode_of(response),
        http_status=None if dropped else response.status,
        fault=fault.kind if fault else None,
        duplicate=notes.duplicate,
    )
    return response


async def unknown_endpoint(request: web.Request) -> web.Response:
    """What WeChat answers for a wrong method on a real endpoint, or for an endpoint we do not emulate."""
    for resource in request.app.router.resources():
        if resource.canonical == request.path:
            methods = {route.method for route in resource}
            if "POST" in methods:
                return answer(43002, "require POST method")
            return answer(43001, "require GET method")
    return answer(48001, f"api unauthorized (模拟器未实现 {request.method} {request.path})")
