"""WeCom (企业微信) app endpoints, served under /work as if at https://qyapi.weixin.qq.com."""

import json
from typing import Any

from aiohttp import web

from emulator.answers import answer, read_json, text_of, token_errcode
from emulator.records import DROP_DUPLICATE, DROP_RATE
from emulator.state import STATE_KEY, EmulatorState

WORK_TYPES = {
    "text",
    "textcard",
    "markdown",
    "template_card",
    "news",
    "mpnews",
    "image",
    "voice",
    "video",
    "file",
    "miniprogram_notice",
}
MAX_DUPLICATE_INTERVAL = 4 * 3600


async def get_token(request: web.Request) -> web.Response:
    """Within its validity WeCom hands out the same token again; a new one only after expiry."""
    state = request.app[STATE_KEY]
    if request.query.get("corpid") != state.config.work_corpid:
        return answer(40013, "invalid corpid")
    if request.query.get("corpsecret") != state.config.work_secret:
        return answer(40001, "invalid credential")
    now = state.now()
    token = state.work_tokens.current(now) or state.work_tokens.issue(now)
    return answer(0, access_token=token.value, expires_in=token.remaining(now))


def _recipients(state: EmulatorState, touser: str) -> list[str]:
    if touser == "@all":
        return [u.id for u in state.users["work"].values() if u.following]
    return list(dict.fromkeys(name for name in touser.split("|") if name))


def _duplicate_interval(data: dict[str, Any]) -> int | None:
    """Seconds of the duplicate check asked for, or None when it is off."""
    if data.get("enable_duplicate_check") not in (1, "1", True):
        return None
    try:
        interval = int(data.get("duplicate_check_interval", 1800))
    except (TypeError, ValueError):
        interval = 1800
    return max(0, min(interval, MAX_DUPLICATE_INTERVAL))


def _deliver(state: EmulatorState, userid: str, fingerprint: str, interval: int | None) -> str | None:
    """Apply the duplicate check and the per-member limits; the drop reason, or None if delivered."""
    now, config = state.now(), state.config
    last = state.duplicates.get((userid, fingerprint))
    if interval is not None and last is not None and now - last < interval:
        return DROP_DUPLICATE
    if (
        state.member_minute.count(userid, now) >= config.work_member_per_minute
        or state.member_hour.count(userid, now) >= config.work_member_per_hour
    ):
        return DROP_RATE
    state.duplicates[(userid, fingerprint)] = now
    state.member_minute.add(userid, now)
    state.member_hour.add(userid, now)
    return None


async def message_send(request: web.Request) -> web.Response:
    """App message to up to 1000 members; excess per member is dropped silently, as WeCom does."""
    state = request.app[STATE_KEY]
    config = state.config
    errcode = token_errcode(request, [state.work_tokens], state.now(), 40014)
    if errcode:
        return answer(errcode)
    data = await read_json(request)
    if data is None:
        return answer(47001)
    try:
        agentid = int(data.get("agentid", -1))
    except (TypeError, ValueError):
        agentid = -1
    if agentid != config.work_agentid:
        return answer(40056)
    msgtype = data.get("msgtype")
    if msgtype not in WORK_TYPES:
        return answer(40008)
    content = text_of(data, msgtype)
    if msgtype == "text" and not content:
        return answer(44004)
    names = _recipients(state, str(data.get("touser") or ""))
    if len(names) > config.work_max_recipients:
        return answer(40058, f"invalid parameter: touser exceeds {config.work_max_recipients} users")
    members = [n for n in names if (u := state.user("work", n)) is not None and u.following]
    invalid = [n for n in names if n not in members]
    unlicensed = [n for n in members if (u := state.user("work", n)) is not None and not u.licensed]
    valid = [n for n in members if n not in unlicensed]
    extra = {
        "invaliduser": "|".join(invalid),
        "invalidparty": str(data.get("toparty") or ""),
        "invalidtag": str(data.get("totag") or ""),
    }
    if not members:
        return answer(81013, **extra)
    interval = _duplicate_interval(data)
    fingerprint = json.dumps(data.get(msgtype), sort_keys=True, ensure_ascii=False)
    msgid = f"{state.next_msg_id():x}"
    for userid in valid:
        reason = _deliver(state, userid, fingerprint, interval)
        state.log.add(
            time=state.now(),
            platform="work",
            api="message",
            recipient=userid,
            msgtype=msgtype,
            content=content,
            payload=data,
            msgid=msgid,
            delivered=reason is None,
            drop_reason=reason,
        )
    if msgtype == "template_card":
        extra["response_code"] = f"rc{msgid}"
    return answer(0, **extra, unlicenseduser="|".join(unlicensed), msgid=msgid)


def work_routes() -> list[web.RouteDef]:
    return [
        web.get("/work/cgi-bin/gettoken", get_token),
        web.post("/work/cgi-bin/message/send", message_send),
    ]
