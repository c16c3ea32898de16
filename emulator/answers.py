"""WeChat-style answers: HTTP 200 with a JSON errcode, and the shared request checks."""

import json
from typing import Any

from aiohttp import web

from emulator.tokens import TOKEN_EXPIRED, TOKEN_OK, TokenBook

ERRMSG = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45067: "clientmsgid size out of limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    81013: "user & party & tag all invalid",
    93000: "invalid webhook url",
}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def answer(errcode: int = 0, errmsg: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")}
    body.update(extra)
    return web.json_response(body, dumps=dumps)


async def read_json(request: web.Request) -> dict[str, Any] | None:
    """The JSON object in the body, or None when it does not parse (WeChat: 47001)."""
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def token_errcode(request: web.Request, books: list[TokenBook], now: float, invalid: int) -> int:
    """0 if the access_token query argument is valid in one of `books`, else the errcode."""
    value = request.query.get("access_token", "")
    if not value:
        return 41001
    for book in books:
        if book.knows(value):
            status = book.check(value, now)
            if status == TOKEN_OK:
                return 0
            return 42001 if status == TOKEN_EXPIRED else invalid
    return invalid


def text_of(payload: dict[str, Any], msgtype: str) -> str:
    """A readable rendering of a message payload for logs and the demo chat page."""
    body = payload.get(msgtype)
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("content"), str):
        return body["content"]
    if msgtype in ("news", "mpnews") and isinstance(body.get("articles"), list):
        parts = [f"{a.get('title', '')}\n{a.get('description', '')}".strip() for a in body["articles"]]
        return "\n\n".join(p for p in parts if p)
    if msgtype == "template_card":
        main = body.get("main_title") or {}
        return f"{main.get('title', '')}\n{main.get('desc', '')}".strip()
    fields = [body.get(k) for k in ("title", "description", "url") if isinstance(body.get(k), str)]
    return "\n".join(f for f in fields if f)
