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
