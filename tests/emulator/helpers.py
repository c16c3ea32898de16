"""Calls the way our service makes them, to keep the tests short."""

from typing import Any

import httpx

from emulator import Emulator


async def mp_token(http: httpx.AsyncClient, emulator: Emulator) -> str:
    c = emulator.config
    params = {"grant_type": "client_credential", "appid": c.mp_appid, "secret": c.mp_secret}
    answer = (await http.get(emulator.mp_api_base + "/cgi-bin/token", params=params)).json()
    return answer["access_token"]


async def work_token(http: httpx.AsyncClient, emulator: Emulator) -> str:
    c = emulator.config
    params = {"corpid": c.work_corpid, "corpsecret": c.work_secret}
    answer = (await http.get(emulator.work_api_base + "/cgi-bin/gettoken", params=params)).json()
    return answer["access_token"]


async def post(http: httpx.AsyncClient, url: str, token: str | None, body: Any) -> dict[str, Any]:
    params = {"access_token": token} if token is not None else {}
    response = await http.post(url, params=params, json=body)
    assert response.status_code == 200
    return response.json()


def custom_text(openid: str, text: str = "您好") -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": text}}


def template(openid: str, **data: str) -> dict[str, Any]:
    return {
        "touser": openid,
        "template_id": "TPL_NOTICE",
        "url": "https://example.org/n/1",
        "data": {k: {"value": v} for k, v in data.items()},
    }


def work_text(emulator: Emulator, touser: str, text: str = "请确认", **extra: Any) -> dict[str, Any]:
    return {
        "touser": touser,
        "msgtype": "text",
        "agentid": emulator.config.work_agentid,
        "text": {"content": text},
        **extra,
    }
