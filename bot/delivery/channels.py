"""Channel adapters over WeChatApi: send one message, return one SendOutcome per recipient.

Adapters never raise for a WeChat or network failure: they classify it (errors.py) so the delivery
engine can decide on retry or fallback per recipient.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.delivery.errors import ErrorClass, classify, reason
from bot.wechat.api import JSON_HEADERS, ApiError, WeChatApi

WORK_MAX_RECIPIENTS = 1000
WORK_MAX_DEDUPE_SECONDS = 1800
TEMPLATE_FIELD_MAX = 20  # characters per template field since May 2023
CLIENT_MSG_ID_MAX_BYTES = 64
ROBOT_TEXT_MAX_BYTES = 2048
ELLIPSIS = "…"
NOT_A_MEMBER = "不是企业微信成员或已离职"
UNLICENSED = "该成员没有企业微信接口许可，收不到应用消息"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    recipient: str
    ok: bool
    error_class: ErrorClass | None
    errcode: int | None
    reason: str
    msgid: str | None = None  # WeChat's id of the message (a template's report names it)


def _sent(recipient: str, msgid: object = None) -> SendOutcome:
    return SendOutcome(recipient, True, None, 0, "", None if msgid is None else str(msgid))


def _folded(listing: object) -> set[str]:
    """The userids of a "a|b|c" answer field, case-folded (WeCom may answer them in another case)."""
    return {u.casefold() for u in str(listing or "").split("|") if u}


def _not_member(userid: str, errcode: int | None = None) -> SendOutcome:
    return SendOutcome(userid, False, ErrorClass.permanent, errcode, NOT_A_MEMBER)


def _failed(platform: str, recipients: Iterable[str], exc: Exception) -> list[SendOutcome]:
    """The same classified failure for every recipient of one call."""
    if isinstance(exc, ApiError):
        cls = classify(platform, exc.errcode)
        text = reason(platform, exc.errcode, exc.errmsg)
        return [SendOutcome(r, False, cls, exc.errcode, text) for r in recipients]
    cls = classify(platform, None, exc=exc)
    if isinstance(exc, httpx.HTTPStatusError):
        text = f"微信服务器错误 HTTP {exc.response.status_code}，稍后重试"
    else:
        text = reason(platform, None, type(exc).__name__)
    return [SendOutcome(r, False, cls, None, text) for r in recipients]


# What a send may raise that is the platform's or the network's fault, not ours. ValueError covers a
# body that is not JSON (an HTML error page from a proxy).
SEND_ERRORS = (ApiError, httpx.HTTPError, ValueError)


def truncate_chars(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def truncate_utf8(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary, "…" appended when cut."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    # Only the last character can be split by the byte cut; "ignore" drops just its partial bytes.
    return raw[: limit - len(ELLIPSIS.encode())].decode(errors="ignore") + ELLIPSIS


class WorkAppChannel:
    """WeCom app message (message/send) to members by userid."""

    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def send(self, userids: Sequence[str], text: str, *, dedupe_seconds: int | None = None) -> list[SendOutcome]:
        if dedupe_seconds is not None and not 0 < dedupe_seconds <= WORK_MAX_DEDUPE_SECONDS:
            raise ValueError(f"dedupe_seconds must be in 1..{WORK_MAX_DEDUPE_SECONDS}")
        unique = list(dict.fromkeys(u for u in userids if u))  # WeCom sends a duplicate once anyway
        outcomes: list[SendOutcome] = []
        for start in range(0, len(unique), WORK_MAX_RECIPIENTS):
            batch = unique[start : start + WORK_MAX_RECIPIENTS]
            outcomes.extend(await self._send_batch(batch, text, dedupe_seconds))
        return outcomes

    async def _send_batch(self, batch: list[str], text: str, dedupe_seconds: int | None) -> list[SendOutcome]:
        payload: dict[str, Any] = {
            "touser": "|".join(batch),
            "msgtype": "text",
            "agentid": self.api.settings.work_agentid,
            "text": {"content": text},
        }
        if dedupe_seconds is not None:
            # WeCom drops a repeat of the same content within the interval: a retry cannot double-send.
            payload["enable_duplicate_check"] = 1
            payload["duplicate_check_interval"] = dedupe_seconds
        try:
            answer = await self.api.call(self.api.work, "/cgi-bin/message/send", payload)
        except ApiError as exc:
            if exc.errcode == 81013:  # nobody in the call was valid
                return [_not_member(u, 81013) for u in batch]
            return _failed("work", batch, exc)
        except SEND_ERRORS as exc:
            return _failed("work", batch, exc)
        # WeCom may answer userids in another case than we sent them; it treats them case-insensitively.
        invalid = _folded(answer.get("invaliduser"))
        # Members without an interface licence (接口许可) are listed apart and get nothing either.
        unlicensed = _folded(answer.get("unlicenseduser"))
        msgid = answer.get("msgid")
        return [
            _not_member(u)
            if u.casefold() in invalid
            else SendOutcome(u, False, ErrorClass.permanent, None, UNLICENSED)
            if u.casefold() in unlicensed
            else _sent(u, msgid)
            for u in batch
        ]


class MpCustomChannel:
    """MP customer-service message: only within 48 h of the user's last interaction."""

    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def send(self, openid: str, text: str) -> list[SendOutcome]:
        try:
            await self.api.send_mp_text(openid, text)
        except SEND_ERRORS as exc:
            return _failed("mp", [openid], exc)
        return [_sent(openid)]


class MpTemplateChannel:
    """MP template message: no 48 h window, but short fields, so a notice is a title plus a link."""

    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def send(
        self, openid: str, *, template_id: str, url: str, fields: dict[str, str], client_msg_id: str | None = None,
    ) -> list[SendOutcome]:
        """`fields`: the template's keywords (thing1, time3 …; models/message_frame.py). `client_msg_id`
        (≤ 64 bytes): WeChat sends one message per openid and id within 10 minutes, so a repeat after a
        timeout or a crash is answered ok and not delivered twice."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "url": url,
            "data": {key: {"value": truncate_chars(str(v), TEMPLATE_FIELD_MAX)} for key, v in fields.items()},
        }
        if client_msg_id is not None:
            if len(client_msg_id.encode()) > CLIENT_MSG_ID_MAX_BYTES:
                raise ValueError(f"client_msg_id over {CLIENT_MSG_ID_MAX_BYTES} bytes")
            payload["client_msg_id"] = client_msg_id
        try:
            answer = await self.api.call(self.api.mp, "/cgi-bin/message/template/send", payload)
        except SEND_ERRORS as exc:
            return _failed("mp", [openid], exc)
        return [_sent(openid, answer.get("msgid"))]


class RobotChannel:
    """WeCom group robot: a webhook key instead of an access token, one-way to a group chat."""

    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def send(
        self,
        key: str,
        text: str,
        *,
        mention_userids: Iterable[str] = (),
        mention_mobiles: Iterable[str] = (),
    ) -> list[SendOutcome]:
        """One message to the group, @-mentioning members by userid or by mobile; one outcome for the key."""
        content: dict[str, Any] = {"content": truncate_utf8(text, ROBOT_TEXT_MAX_BYTES)}
        mentions = list(dict.fromkeys(mention_userids))
        if mentions:
            content["mentioned_list"] = mentions
        mobiles = list(dict.fromkeys(m for m in mention_mobiles if m))
        if mobiles:
            content["mentioned_mobile_list"] = mobiles
        body = json.dumps({"msgtype": "text", "text": content}, ensure_ascii=False).encode()
        url = self.api.settings.work_api_base + "/cgi-bin/webhook/send"
        try:
            response = await self.api.http.post(url, params={"key": key}, content=body, headers=JSON_HEADERS)
            response.raise_for_status()
            data = response.json()
            if data.get("errcode"):
                raise ApiError(data["errcode"], data.get("errmsg", ""), data)
        except SEND_ERRORS as exc:
            return _failed("robot", [key], exc)
        return [_sent(key)]
