import asyncio
import time

import httpx
import pytest

from emulator import Emulator
from tests.emulator.helpers import custom_text, mp_token, post

CUSTOM = "/cgi-bin/message/custom/send"


@pytest.fixture
async def token(emulator: Emulator, http: httpx.AsyncClient) -> str:
    emulator.register_user("mp", "o_1", interacted=True)
    emulator.config.custom_replies_per_interaction = 1000
    return await mp_token(http, emulator)


async def test_error_rate_one_answers_system_error(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    emulator.set_faults(error_rate=1.0)
    answer = await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1"))
    assert answer == {"errcode": -1, "errmsg": "system error"}
    assert emulator.messages() == []
    emulator.clear_faults()
    assert (await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1")))["errcode"] == 0


async def test_error_rate_is_reproducible_with_a_seed(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    async def run() -> list[int]:
        emulator.set_faults(error_rate=0.5, seed=7)
        url = emulator.mp_api_base + CUSTOM
        return [(await post(http, url, token, custom_text("o_1")))["errcode"] for _ in range(20)]

    first, second = await run(), await run()
    assert first == second and set(first) == {0, -1}


async def test_forced_errcodes_hit_only_their_endpoint(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    emulator.force_error("message/custom/send", 45015, count=2)
    url = emulator.mp_api_base + CUSTOM
    assert (await mp_token(http, emulator)) != token  # the token endpoint is not affected
    codes = [(await post(http, url, token, custom_text("o_1")))["errcode"] for _ in range(3)]
    assert codes == [45015, 45015, 0]  # the older token is still inside its overlap


async def test_http_500_and_dropped_connections(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    url = emulator.mp_api_base + CUSTOM
    emulator.set_faults(http_500_rate=1.0)
    response = await http.post(url, params={"access_token": token}, json=custom_text("o_1"))
    assert response.status_code == 500
    emulator.clear_faults()
    emulator.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(url, params={"access_token": token}, json=custom_text("o_1"))
    faults = [(c.fault, c.http_status) for c in emulator.calls(CUSTOM)]
    assert faults == [("http_500", 500), ("drop", None)]
    assert emulator.messages() == []


async def test_latency(emulator: Emulator, http: httpx.AsyncClient, token: str) -> None:
    emulator.set_faults(latency_ms=200)
    started = time.monotonic()
    assert (await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1")))["errcode"] == 0
    assert time.monotonic() - started >= 0.2


async def test_faults_through_the_control_api(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    control = emulator.base_url + "/emulator/faults"
    body = {"forced": [{"endpoint": "custom/send", "errcode": 45047, "count": 1}], "latency_ms": 1}
    shown = (await http.post(control, json=body)).json()
    assert shown["forced"][0]["errcode"] == 45047 and shown["latency_ms"] == 1
    assert (await http.post(control, json={"error_rate": 2})).status_code == 400
    assert (await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1")))["errcode"] == 45047
    assert (await post(http, emulator.base_url + "/emulator/faults", None, {"error_rate": 1}))[
        "error_rate"
    ] == 1
    assert (await http.get(emulator.base_url + "/emulator/messages")).status_code == 200  # control: no faults
    await http.delete(control)
    assert (await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1")))["errcode"] == 0


async def test_call_log(emulator: Emulator, http: httpx.AsyncClient, token: str) -> None:
    await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_2"))
    await http.get(emulator.mp_api_base + "/cgi-bin/nonexistent")
    calls = (await http.get(emulator.base_url + "/emulator/calls")).json()
    assert [c["endpoint"] for c in calls] == [
        "/mp/cgi-bin/token",
        "/mp/cgi-bin/message/custom/send",
        "/mp/cgi-bin/nonexistent",
    ]
    assert calls[1]["errcode"] == 40003 and calls[1]["body"]["touser"] == "o_2"
    assert calls[1]["args"]["access_token"] == token
    assert calls[2]["errcode"] == 48001
    wrong_method = await http.get(emulator.mp_api_base + CUSTOM, params={"access_token": token})
    assert wrong_method.status_code == 200 and wrong_method.json()["errcode"] == 43002


async def test_a_held_endpoint_keeps_its_calls_waiting_until_released(
    emulator: Emulator, http: httpx.AsyncClient, token: str
) -> None:
    emulator.hold_calls("message/custom/send")
    url = emulator.mp_api_base + CUSTOM
    calls = [asyncio.create_task(post(http, url, token, custom_text("o_1", f"第{i}条"))) for i in range(3)]
    for _ in range(100):
        if emulator.waiting_calls("message/custom/send") == 3:
            break
        await asyncio.sleep(0.01)

    # Received, unanswered and not delivered; the token endpoint is not held.
    assert emulator.waiting_calls() == 3 and not any(c.done() for c in calls)
    assert emulator.messages() == [] and await mp_token(http, emulator)

    emulator.release_calls("message/custom/send")
    assert [a["errcode"] for a in await asyncio.gather(*calls)] == [0, 0, 0]
    assert len(emulator.messages("mp", "o_1")) == 3 and emulator.waiting_calls() == 0
