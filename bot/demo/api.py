"""The demo's JSON API under /demo/api: the personas, sending as one of them through the emulator's phone
(the real signed and encrypted callback), and a long-poll of what the bot sent them through the APIs.

Every refusal is JSON with a Chinese reason; bad input is a 4xx, never a 500."""

import json
import logging
import math
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.demo.personas import GROUPS, Persona
from bot.demo.queries import binding_state
from bot.demo.state import MAX_WAIT, DemoState, UnknownPersona, message_json
from bot.keys import SESSIONS, SETTINGS
from bot.settings import Settings
from emulator import Phone, PhoneError, PhoneReply, PhoneReplyError, PhoneTimeoutError
from models.identity import Platform
from models.meeting import open_meetings_for
from models.meeting_signin import current_code, signin_open, signin_scene
from models.notice_send import MAX_TEXT as NOTICE_MAX_TEXT
from models.quiet_hours import in_quiet_hours
from models.typed import id_of

log = logging.getLogger(__name__)
DEMO = web.AppKey("demo", DemoState)
# A secretary may paste a whole notice into the chat box: the box takes what a notice may hold.
MAX_TEXT = NOTICE_MAX_TEXT
REASONS = {404: "没有这个接口", 405: "不支持这种请求方法", 413: "请求体太大"}


class Refusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refusal as exc:
        return _json({"error": exc.reason}, exc.status)
    except UnknownPersona as exc:
        return _json({"error": f"没有这个演示身份：{exc.args[0]}"}, 404)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _json({"error": REASONS.get(exc.status, exc.reason)}, exc.status)
    except Exception:
        log.exception("demo API %s failed", request.path)
        return _json({"error": "演示服务出错，详情见运行演示的终端"}, 500)


async def personas(request: web.Request) -> web.Response:
    state = request.app[DEMO]
    listed = list(state.personas.values())
    async with request.config_dict[SESSIONS]() as session:
        binding = await binding_state(
            session=session,
            keys=[(p.platform, p.user_id) for p in listed],
            person_ids=[p.person_id for p in listed if p.person_id is not None],
        )
    return _json({
        "run": state.run_id,
        "groups": list(GROUPS),
        "personas": [p.to_dict(binding, state.community) for p in listed],
        "quiet": quiet_hint(request.config_dict[SETTINGS]),
    })


def quiet_hint(settings: Settings) -> dict[str, str] | None:
    """Said on the page while the quiet hours hold ordinary notices, so that a newcomer trying the
    demo at night is not left waiting without knowing why; None by day."""
    window = settings.quiet_window
    local = datetime.now(settings.tz)
    if window is None or not in_quiet_hours(local, window):
        return None
    start, end = (f"{t:%H:%M}" for t in window)
    return {
        "until": end,
        "text": f"现在是休息时段（{start}–{end}）：普通通知要到 {end} 才发出。想马上看到效果，发通知时选“紧急”，"
                "或发出后点下面的“紧急”立即发送。",
    }


async def send(request: web.Request) -> web.Response:
    """{"persona": id, "text": "..."} or {"persona": id, "action": "scan" | "subscribe" | ...}."""
    state = request.app[DEMO]
    body = await _body(request)
    persona = state.persona(body.get("persona"))
    phone = state.emulator.phone(persona.platform.value, persona.user_id)
    try:
        if "action" in body:
            reply = await _act(request, persona, phone, body["action"])
        else:
            text = _text(body.get("text"))
            _require_following(state, persona)
            reply = await phone.send_text(text)
    except PhoneTimeoutError as exc:
        raise Refusal(504, "机器人没有在 5 秒内应答（真实微信会重试三次）") from exc
    except PhoneReplyError as exc:
        raise Refusal(502, f"机器人的应答微信无法解析：{exc}") from exc
    except PhoneError as exc:
        raise Refusal(502, f"无法连接机器人：{exc}") from exc
    return _json(_reply_json(reply))


async def inbox(request: web.Request) -> web.Response:
    """?persona=&after=<message id>&wait=<seconds, at most 25>: holds until the bot sends them something."""
    state = request.app[DEMO]
    persona = state.persona(request.query.get("persona", ""))
    after = int(_number(request.query.get("after", "0"), "after 应为不小于 0 的整数", integer=True))
    wait = min(_number(request.query.get("wait", str(MAX_WAIT)), "wait 应为不小于 0 的秒数"), MAX_WAIT)
    found = await state.inbox(persona, after, wait)
    templates = state.emulator.config.templates
    return _json({"messages": [message_json(m, templates) for m in found],
                  "after": max((m.id for m in found), default=after)})


async def _scan_signin(request: web.Request, persona: Persona, phone: Phone, following: bool) -> PhoneReply:
    """Scanning the QR code on the secretary's sign-in page of the persona's meeting open for sign-in
    (the code of this minute, as the page shows it): SCAN for a follower, subscribe for anyone else."""
    settings = request.config_dict[SETTINGS]
    now = datetime.now(settings.tz)
    meeting = None
    if persona.person_id is not None:
        async with request.config_dict[SESSIONS]() as session:
            meetings = await open_meetings_for(session=session, person_id=persona.person_id, now=now)
        meeting = next((m for m in meetings if signin_open(m, now)), None)
    if meeting is None:
        raise Refusal(409, "现在没有可以签到的会议（会议开始前 30 分钟开放签到）")
    code = current_code(settings.secret_key.get_secret_value(), id_of(meeting), now)
    scene = signin_scene(id_of(meeting), code)
    return await (phone.send_event("SCAN", scene) if following else phone.send_event("subscribe", f"qrscene_{scene}"))


async def _act(request: web.Request, persona: Persona, phone: Phone, action: object) -> PhoneReply:
    state = request.app[DEMO]
    if not isinstance(action, str) or action not in persona.actions:
        raise Refusal(400, f"“{persona.name}”不能执行这个操作")
    if action == "enter_agent":
        return await phone.enter_agent()
    user = state.emulator.user(Platform.mp.value, persona.user_id)
    following = user is not None and user.following
    if action == "scan":
        # Scanning a community's code: WeChat sends SCAN to a follower, subscribe to anyone else.
        code = state.community.code
        return await (phone.send_event("SCAN", code) if following else phone.send_event("subscribe", f"qrscene_{code}"))
    if action == "signin":
        return await _scan_signin(request, persona, phone, following)
    if action == "subscribe" and following:
        raise Refusal(409, "已经关注了公众号；先点「取消关注」才能再次关注")
    if action == "unsubscribe" and not following:
        raise Refusal(409, "还没有关注公众号")
    return await phone.send_event(action)


def _require_following(state: DemoState, persona: Persona) -> None:
    if persona.platform != Platform.mp:
        return
    user = state.emulator.user(Platform.mp.value, persona.user_id)
    if user is not None and not user.following:
        raise Refusal(409, "还没有关注公众号，不能发消息：请先点「关注」或「扫码」")


def _reply_json(reply: PhoneReply) -> dict[str, Any]:
    message = reply.reply
    if message is None:
        text = None  # "success" or empty: the bot had nothing to say now
    elif message.get("MsgType") == "text":
        text = message.get("Content") or ""
    else:
        text = f"[{message.get('MsgType')} 消息]"
    return {"status": reply.status, "reply": text, "raw": None if message else reply.raw}


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Refusal(400, "请求体应为 JSON 对象，例如 {\"persona\": \"p1\", \"text\": \"帮助\"}")
    return data


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refusal(400, "消息不能为空")
    if len(value) > MAX_TEXT:
        raise Refusal(400, f"消息太长：最多 {MAX_TEXT} 字")
    return value


def _number(raw: str, reason: str, *, integer: bool = False) -> float:
    try:
        value = float(int(raw)) if integer else float(raw)
    except ValueError:
        raise Refusal(400, reason) from None
    if not math.isfinite(value) or value < 0:
        raise Refusal(400, reason)
    return value
