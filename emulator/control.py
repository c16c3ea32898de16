"""Control API under /emulator: inspect messages and calls, drive the clock, faults, users and phones."""

from typing import Any

from aiohttp import web

from emulator.answers import dumps
from emulator.errors import PhoneError, PhoneReplyError
from emulator.phone_reply import PhoneReply
from emulator.phonebook import PHONES_KEY
from emulator.state import STATE_KEY

MAX_WAIT = 60.0
CARD_FIELDS = {"task_id": "TaskId", "card_type": "CardType", "response_code": "ResponseCode"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def _bad(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise _bad_request("请求体不是 JSON") from exc
    if not isinstance(data, dict):
        raise _bad_request("请求体应为 JSON 对象")
    return data


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=dumps({"error": message}), content_type="application/json")


async def info(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return _json({"emulator": "grassroots-wechat", "now": state.now(), "last_message_id": state.log.last_id})


async def messages(request: web.Request) -> web.Response:
    """?platform=&to=&after=<id>&wait=<seconds>: long-polls when nothing newer than `after` yet."""
    state = request.app[STATE_KEY]
    query = request.query
    try:
        after = int(query.get("after", 0))
        wait = min(float(query.get("wait", 0)), MAX_WAIT)
    except ValueError:
        return _bad("after 应为整数，wait 应为秒数")
    found = await state.log.wait(query.get("platform") or None, query.get("to") or None, after, wait)
    return _json([m.to_dict() for m in found])


async def calls(request: web.Request) -> web.Response:
    """?endpoint=<part of the path>&after=<seq>."""
    state = request.app[STATE_KEY]
    part = request.query.get("endpoint", "")
    try:
        after = int(request.query.get("after", 0) or 0)
    except ValueError:
        return _bad("after 应为整数")
    return _json([c.to_dict() for c in state.calls if c.seq > after and part in c.endpoint])


async def reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return _json({"ok": True})


async def clock(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "POST":
        try:
            state.clock.advance(float((await _body(request)).get("advance", 0)))
        except (TypeError, ValueError) as exc:
            return _bad(f"advance 无效: {exc}")
    return _json({"now": state.now(), "offset": state.clock.offset})


async def faults(request: web.Request) -> web.Response:
    """POST sets the given settings (and appends `forced` entries); DELETE or {"clear": true} clears."""
    settings = request.app[STATE_KEY].faults
    if request.method == "DELETE":
        settings.clear()
    elif request.method == "POST":
        data = await _body(request)
        if data.pop("clear", False):
            settings.clear()
        try:
            settings.update(**data)
        except (TypeError, ValueError) as exc:
            return _bad(f"故障设置无效: {exc}")
    return _json(settings.to_dict())


async def users(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "GET":
        platforms = [request.query["platform"]] if request.query.get("platform") else list(state.users)
        return _json([u.to_dict() for p in platforms for u in state.users.get(p, {}).values()])
    data = await _body(request)
    try:
        user = state.register_user(
            str(data["platform"]),
            str(data["id"]),
            bool(data.get("following", True)),
            blocked=bool(data.get("blocked", False)),
            interacted=bool(data.get("interacted", False)),
            licensed=bool(data.get("licensed", True)),
        )
    except (KeyError, ValueError) as exc:
        return _bad(f"需要 platform（mp 或 work）和 id: {exc}")
    return _json(user.to_dict())


async def _phone_exchange(request: web.Request, replay: bool) -> web.Response:
    platform, user_id = request.match_info["platform"], request.match_info["user_id"]
    try:
        phone = request.app[PHONES_KEY].get(platform, user_id)
    except ValueError as exc:
        return _bad(str(exc), 404)
    data = {} if replay else await _body(request)
    try:
        if replay:
            reply: PhoneReply = await phone.replay()
        elif "text" in data:
            reply = await phone.send_text(str(data["text"]))
        elif "event" in data:
            fields = {CARD_FIELDS[k]: str(v) for k, v in data.items() if k in CARD_FIELDS}
            fields.update({str(k): str(v) for k, v in (data.get("fields") or {}).items()})
            reply = await phone.send_event(str(data["event"]), data.get("event_key"), **fields)
        else:
            return _bad('需要 {"text": ...} 或 {"event": ..., "event_key": ...}')
    except PhoneReplyError as exc:
        return _json({"status": exc.status, "reply": None, "raw": exc.raw, "error": str(exc)})
    except PhoneError as exc:
        return _json({"status": None, "reply": None, "raw": None, "error": str(exc)}, 502)
    return _json(reply.to_dict())


async def phone_send(request: web.Request) -> web.Response:
    return await _phone_exchange(request, replay=False)


async def phone_replay(request: web.Request) -> web.Response:
    return await _phone_exchange(request, replay=True)


def control_routes() -> list[web.RouteDef]:
    return [
        web.get("/emulator", info),
        web.get("/emulator/messages", messages),
        web.get("/emulator/calls", calls),
        web.post("/emulator/reset", reset),
        web.get("/emulator/clock", clock),
        web.post("/emulator/clock", clock),
        web.get("/emulator/faults", faults),
        web.post("/emulator/faults", faults),
        web.delete("/emulator/faults", faults),
        web.get("/emulator/users", users),
        web.post("/emulator/users", users),
        web.post("/emulator/phones/{platform}/{user_id}/send", phone_send),
        web.post("/emulator/phones/{platform}/{user_id}/replay", phone_replay),
    ]
