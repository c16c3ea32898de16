import httpx

from emulator import Emulator
from tests.emulator.helpers import custom_text, mp_token, post, work_text, work_token


async def _custom(http: httpx.AsyncClient, emulator: Emulator, token: str) -> int:
    url = emulator.mp_api_base + "/cgi-bin/message/custom/send"
    return (await post(http, url, token, custom_text("o_1")))["errcode"]


async def test_mp_token_answers_like_wechat(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.mp_api_base + "/cgi-bin/token"
    c = emulator.config
    good = {"grant_type": "client_credential", "appid": c.mp_appid, "secret": c.mp_secret}
    answer = (await http.get(url, params=good)).json()
    assert answer["expires_in"] == 7200 and len(answer["access_token"]) > 20
    assert (await http.get(url, params={**good, "appid": "wx_other"})).json()["errcode"] == 40013
    assert (await http.get(url, params={**good, "secret": "nope"})).json()["errcode"] == 40125


async def test_mp_token_expires(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.register_user("mp", "o_1", interacted=True)
    token = await mp_token(http, emulator)
    assert await _custom(http, emulator, token) == 0
    emulator.advance_clock(7201)
    assert await _custom(http, emulator, token) == 42001
    assert await _custom(http, emulator, "made-up") == 40001
    assert await _custom(http, emulator, None) == 41001


async def test_newer_fetch_retires_older_token_after_overlap(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    emulator.register_user("mp", "o_1", interacted=True)
    old = await mp_token(http, emulator)
    new = await mp_token(http, emulator)
    assert old != new
    assert await _custom(http, emulator, old) == 0  # still inside the overlap
    emulator.advance_clock(301)
    assert await _custom(http, emulator, old) == 40001
    assert await _custom(http, emulator, new) == 0


async def test_stable_token_is_shared_and_force_refresh_is_limited(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    c = emulator.config
    url = emulator.mp_api_base + "/cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": c.mp_appid, "secret": c.mp_secret}
    first = (await http.post(url, json=body)).json()
    emulator.advance_clock(100)
    second = (await http.post(url, json=body)).json()
    assert first["access_token"] == second["access_token"]
    assert 7098 <= second["expires_in"] <= 7100
    forced = (await http.post(url, json={**body, "force_refresh": True})).json()
    assert forced["access_token"] != first["access_token"]
    for _ in range(19):
        assert "access_token" in (await http.post(url, json={**body, "force_refresh": True})).json()
    assert (await http.post(url, json={**body, "force_refresh": True})).json()["errcode"] == 45009
    emulator.advance_clock(7200)
    renewed = (await http.post(url, json=body)).json()
    assert renewed["expires_in"] >= 7199 and renewed["access_token"] != forced["access_token"]
    assert (await http.post(url, json={**body, "secret": "x"})).json()["errcode"] == 40125
    assert (await http.post(url, content=b"{not json")).json()["errcode"] == 47001


async def test_work_token_is_stable_until_expiry(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.register_user("work", "zhangsan")
    url = emulator.work_api_base + "/cgi-bin/gettoken"
    c = emulator.config
    first = await work_token(http, emulator)
    assert first == await work_token(http, emulator)
    assert (await http.get(url, params={"corpid": "ww_x", "corpsecret": c.work_secret})).json()[
        "errcode"
    ] == 40013
    assert (await http.get(url, params={"corpid": c.work_corpid, "corpsecret": "x"})).json()[
        "errcode"
    ] == 40001
    send = emulator.work_api_base + "/cgi-bin/message/send"
    assert (await post(http, send, first, work_text(emulator, "zhangsan")))["errcode"] == 0
    assert (await post(http, send, "made-up", work_text(emulator, "zhangsan")))["errcode"] == 40014
    emulator.advance_clock(7201)
    assert (await post(http, send, first, work_text(emulator, "zhangsan")))["errcode"] == 42001
    assert await work_token(http, emulator) != first
