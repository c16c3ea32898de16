"""Outbound WeChat API calls over httpx, with the shared token (one refresh and one retry on a token
error). Error classification and channel fallback belong to the delivery engine."""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from bot.settings import Settings
from bot.wechat.tokens import TokenStore

TOKEN_ERRORS = {40001, 40014, 42001}
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


# What an answer of media/get may be when it is not the file: WeChat's JSON error (sometimes as text/plain).
_NOT_A_FILE = ("application/json", "text/plain", "text/json")
_ERROR_BODY_MAX = 64 * 1024


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    content_type: str  # as WeChat declared it, without parameters ("image/jpeg")


class MediaTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"media larger than {limit} bytes")
        self.limit = limit


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, payload: dict[str, Any] | None = None) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.payload = payload or {}


@dataclass(frozen=True, slots=True)
class AppCredentials:
    key: str  # the token store key
    base: str
    token_path: str
    token_params: dict[str, str]


def mp_app(settings: Settings) -> AppCredentials:
    return AppCredentials(
        key=f"mp:{settings.mp_appid}",
        base=settings.mp_api_base,
        token_path="/cgi-bin/token",
        token_params={
            "grant_type": "client_credential",
            "appid": settings.mp_appid,
            "secret": settings.mp_secret.get_secret_value(),
        },
    )


def work_app(settings: Settings) -> AppCredentials:
    return AppCredentials(
        key=f"work:{settings.work_corpid}:{settings.work_agentid}",
        base=settings.work_api_base,
        token_path="/cgi-bin/gettoken",
        token_params={"corpid": settings.work_corpid, "corpsecret": settings.work_secret.get_secret_value()},
    )


class WeChatApi:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, tokens: TokenStore) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.mp = mp_app(settings)
        self.work = work_app(settings)

    async def _fetch_token(self, app: AppCredentials) -> tuple[str, int]:
        response = await self.http.get(app.base + app.token_path, params=app.token_params)
        data = response.json()
        if data.get("errcode"):
            raise ApiError(data["errcode"], data.get("errmsg", ""), data)
        return data["access_token"], int(data.get("expires_in", 7200))

    async def ready(self, app: AppCredentials) -> None:
        """The app's access token is at hand (fetched now if needed), so that a send made next goes out
        at once: the dispatcher marks a batch as sent only when nothing stands between it and WeChat."""
        await self.tokens.get(app.key, lambda: self._fetch_token(app))

    async def call(self, app: AppCredentials, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        token = await self.tokens.get(app.key, lambda: self._fetch_token(app))
        data = await self._post(app, path, payload, token)
        if data.get("errcode") in TOKEN_ERRORS:
            token = await self.tokens.get(app.key, lambda: self._fetch_token(app), stale=token)
            data = await self._post(app, path, payload, token)
        if data.get("errcode"):
            raise ApiError(data["errcode"], data.get("errmsg", ""), data)
        return data

    async def _post(self, app: AppCredentials, path: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
        # WeChat documents UTF-8 JSON bodies; send Chinese as is rather than as \u escapes.
        body = json.dumps(payload, ensure_ascii=False).encode()
        response = await self.http.post(
            app.base + path, params={"access_token": token}, content=body, headers=JSON_HEADERS
        )
        response.raise_for_status()
        return response.json()

    async def get_media(self, app: AppCredentials, media_id: str, *, max_bytes: int) -> Media:
        """Temporary media (media/get, MP and WeCom alike): the file and its content type. WeChat answers
        an error as JSON instead of the file (ApiError; a token error refreshes once and retries once).
        The body is read in pieces and given up past `max_bytes` (MediaTooLarge), so a huge file never
        sits in memory; a 5xx raises httpx.HTTPStatusError."""
        token = await self.tokens.get(app.key, lambda: self._fetch_token(app))
        got = await self._get_media(app, media_id, token, max_bytes)
        if isinstance(got, dict) and got.get("errcode") in TOKEN_ERRORS:
            token = await self.tokens.get(app.key, lambda: self._fetch_token(app), stale=token)
            got = await self._get_media(app, media_id, token, max_bytes)
        if isinstance(got, dict):
            raise ApiError(int(got.get("errcode") or -1), str(got.get("errmsg", "")), got)
        return got

    async def _get_media(self, app: AppCredentials, media_id: str, token: str,
                         max_bytes: int) -> Media | dict[str, Any]:
        params = {"access_token": token, "media_id": media_id}
        async with self.http.stream("GET", app.base + "/cgi-bin/media/get", params=params) as response:
            response.raise_for_status()
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            limit = min(max_bytes, _ERROR_BODY_MAX) if content_type in _NOT_A_FILE else max_bytes
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise MediaTooLarge(limit)
            parts, size = [], 0
            async for part in response.aiter_bytes():
                size += len(part)
                if size > limit:
                    raise MediaTooLarge(limit)
                parts.append(part)
        body = b"".join(parts)
        if content_type in _NOT_A_FILE:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("errcode"):
                return data
        return Media(body, content_type)

    async def send_mp_text(self, openid: str, content: str) -> dict[str, Any]:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self.call(self.mp, "/cgi-bin/message/custom/send", payload)

    async def create_qr_code(self, scene: str, expire_seconds: int) -> dict[str, Any]:
        """A temporary parameterised QR code of the Official Account (qrcode/create, QR_STR_SCENE):
        `ticket`, `expire_seconds` and `url`, the text the code encodes (drawn by us, not fetched)."""
        payload = {"expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE",
                   "action_info": {"scene": {"scene_str": scene}}}
        return await self.call(self.mp, "/cgi-bin/qrcode/create", payload)

    async def send_work_text(self, userid: str, content: str) -> dict[str, Any]:
        payload = {
            "touser": userid,
            "msgtype": "text",
            "agentid": self.settings.work_agentid,
            "text": {"content": content},
        }
        return await self.call(self.work, "/cgi-bin/message/send", payload)
