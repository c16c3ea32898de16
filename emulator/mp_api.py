"""Official Account (公众号) endpoints, served under /mp as if at https://api.weixin.qq.com."""

from typing import Any

from aiohttp import web

from emulator.answers import answer, read_json, text_of, token_errcode
from emulator.phonebook import PHONES_KEY
from emulator.records import DROP_USER_BLOCK, note_duplicate
from emulator.state import STATE_KEY, EmulatorState
from emulator.templates import card_text, invalid_value

CUSTOM_TYPES = {
    "text",
    "news",
    "link",
    "image",
    "voice",
    "video",
    "music",
    "mpnews",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
    "mpnewsarticle",
}


def _credentials_errcode(state: EmulatorState, appid: object, secret: object) -> int:
    if appid != state.config.mp_appid:
        return 40013
    if secret != state.config.mp_secret:
        return 40125
    return 0


async def get_token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    query = request.query
    if query.get("grant_type") != "client_credential":
        return answer(40002)
    errcode = _credentials_errcode(state, query.get("appid"), query.get("secret"))
    if errcode:
        return answer(errcode)
    token = state.mp_tokens.issue(state.now())
    return web.json_response({"access_token": token.value, "expires_in": state.config.token_ttl})


async def stable_token(request: web.Request) -> web.Response:
    """Same token for every caller until it expires; force_refresh is limited per day."""
    state = request.app[STATE_KEY]
    data = await read_json(request)
    if data is None:
        return answer(47001)
    if data.get("grant_type") != "client_credential":
        return answer(40002)
    errcode = _credentials_errcode(state, data.get("appid"), data.get("secret"))
    if errcode:
        return answer(errcode)
    now, book = state.now(), state.mp_stable_tokens
    token = book.current(now)
    if data.get("force_refresh") in (True, "true", 1):
        day = state.clock.day()
        if state.stable_force_refreshes.count("mp", day) >= state.config.stable_force_refresh_per_day:
            return answer(45009, "reach max api daily quota limit (force_refresh)")
        state.stable_force_refreshes.add("mp", day)
        token = book.issue(now)
    elif token is None:
        token = book.issue(now)
    return web.json_response({"access_token": token.value, "expires_in": token.remaining(now)})


def _token_errcode(request: web.Request, state: EmulatorState) -> int:
    return token_errcode(request, [state.mp_tokens, state.mp_stable_tokens], state.now(), 40001)


async def _message_body(request: web.Request, state: EmulatorState) -> dict[str, Any] | web.Response:
    """A message send's JSON body, or the answer WeChat gives first: a bad token (40001, 42001), then a
    body that is not JSON (47001)."""
    errcode = _token_errcode(request, state)
    if errcode:
        return answer(errcode)
    data = await read_json(request)
    return answer(47001) if data is None else data


async def custom_send(request: web.Request) -> web.Response:
    """Customer-service message: only within 48 h of the user's last action, a few per action."""
    state = request.app[STATE_KEY]
    data = await _message_body(request, state)
    if isinstance(data, web.Response):
        return data
    msgtype = data.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        return answer(40008)
    content = text_of(data, msgtype)
    if msgtype == "text" and not content:
        return answer(44004)
    user = state.user("mp", str(data.get("touser", "")))
    if user is None:
        return answer(40003)
    if not user.following:
        return answer(43004)
    now = state.now()
    window = state.config.custom_window_hours * 3600
    if user.last_interaction is None or now - user.last_interaction > window:
        return answer(45015)
    if user.custom_since_interaction >= state.config.custom_replies_per_interaction:
        return answer(45047)
    user.custom_since_interaction += 1
    state.log.add(
        time=now,
        platform="mp",
        api="custom",
        recipient=user.id,
        msgtype=msgtype,
        content=content,
        payload=data,
        msgid=str(state.next_msg_id()),
    )
    return answer(0)


def _field_values(data: object) -> dict[str, str] | None:
    if data is None:
        return {}
    if not isinstance(data, dict):
        return None
    values = {}
    for key, field in data.items():
        value = field.get("value", "") if isinstance(field, dict) else field
        values[str(key)] = str(value)
    return values


def _client_msg_id(data: dict[str, Any]) -> str:
    """The optional client_msg_id, "" when absent (an empty one asks for nothing either)."""
    value = data.get("client_msg_id")
    return "" if value is None else str(value)


async def template_send(request: web.Request) -> web.Response:
    """Template message: no 48 h window, short fields, a daily quota, a delivery report event, and one
    message per openid and client_msg_id within 10 minutes."""
    state = request.app[STATE_KEY]
    config = state.config
    data = await _message_body(request, state)
    if isinstance(data, web.Response):
        return data
    if data.get("template_id") not in config.template_ids:
        return answer(40037)
    user = state.user("mp", str(data.get("touser", "")))
    if user is None:
        return answer(40003)
    if not user.following:
        return answer(43004)
    values = _field_values(data.get("data"))
    if values is None:
        return answer(47001)
    if any(len(value) > config.template_field_max for value in values.values()):
        return answer(47003, "argument invalid! data.value exceeds length limit")
    template = config.templates.get(str(data.get("template_id")))
    if template is not None:
        refused = next(filter(None, (invalid_value(k, v) for k, v in values.items())), None)
        if refused is not None:
            return answer(47003, refused)
    client_msg_id = _client_msg_id(data)
    if len(client_msg_id.encode()) > config.template_client_msg_id_max_bytes:
        return answer(45067)
    sent = state.template_client_msg_ids
    window = config.template_client_msg_id_window
    first = sent.first_send(user.id, client_msg_id, state.now(), window) if client_msg_id else None
    if first is not None:
        # A repeat inside the window is the first send again: no delivery, no report, no quota spent.
        note_duplicate()
        return answer(0, msgid=first.msgid)
    day = state.clock.day()
    if state.template_sent.count("mp", day) >= config.template_daily_quota:
        return answer(45009)
    state.template_sent.add("mp", day)
    msgid = state.next_msg_id()
    if client_msg_id:
        sent.remember(user.id, client_msg_id, msgid, state.now(), window)
    state.log.add(
        time=state.now(),
        platform="mp",
        api="template",
        recipient=user.id,
        msgtype="template",
        content=card_text(template, values, str(data["url"]) if data.get("url") else None),
        payload=data,
        msgid=str(msgid),
        delivered=not user.blocked,
        drop_reason=DROP_USER_BLOCK if user.blocked else None,
    )
    status = "failed:user block" if user.blocked else "success"
    request.app[PHONES_KEY].report_template(user.id, msgid, status)
    return answer(0, msgid=msgid)


def mp_routes() -> list[web.RouteDef]:
    return [
        web.get("/mp/cgi-bin/token", get_token),
        web.post("/mp/cgi-bin/stable_token", stable_token),
        web.post("/mp/cgi-bin/message/custom/send", custom_send),
        web.post("/mp/cgi-bin/message/template/send", template_send),
    ]
