"""The emulator's qrcode/create answers as WeChat does, and its codes scan as WeChat's do."""

import httpx

from emulator import Emulator
from tests.emulator.helpers import mp_token, post

CREATE = "/cgi-bin/qrcode/create"


def _temporary(scene: str, expire: int = 120) -> dict[str, object]:
    return {"expire_seconds": expire, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}


async def test_a_temporary_code_carries_its_scene_until_it_expires(emulator: Emulator, http: httpx.AsyncClient) -> None:
    token = await mp_token(http, emulator)
    issued = await post(http, emulator.mp_api_base + CREATE, token, _temporary("signin:3:4821"))
    assert issued["expire_seconds"] == 120 and issued["ticket"] and issued["url"].startswith("http://weixin.qq.com/q/")
    found = emulator.state.qr_codes.find(issued["url"], emulator.state.now())
    assert found is not None and found.scene == "signin:3:4821"
    emulator.state.clock.advance(120)
    assert emulator.state.qr_codes.find(issued["url"], emulator.state.now()) is None
    permanent = await post(http, emulator.mp_api_base + CREATE, token,
                           {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 7}}})
    assert "expire_seconds" not in permanent
    emulator.state.clock.advance(10**7)
    assert emulator.state.qr_codes.find(permanent["url"], emulator.state.now()) is not None


async def test_bad_requests_get_wechats_errors(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.mp_api_base + CREATE
    token = await mp_token(http, emulator)
    assert (await post(http, url, "forged", _temporary("x")))["errcode"] == 40001
    assert (await post(http, url, token, _temporary("x" * 65)))["errcode"] == 40097
    assert (await post(http, url, token, _temporary("")))["errcode"] == 40097
    assert (await post(http, url, token, {"action_name": "QR_FAX"}))["errcode"] == 40097
    assert (await post(http, url, token, _temporary("x", expire=0)))["errcode"] == 40097
    limit = {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}}
    assert (await post(http, url, token, limit))["errcode"] == 40097
    bad = await http.post(url, params={"access_token": token}, content=b"<xml/>")
    assert bad.json()["errcode"] == 47001
    assert emulator.state.qr_codes.created == 0
