import asyncio
import time
from typing import Any

import httpx
import pytest

from emulator import Emulator, EmulatorConfig, create_emulator_app, run_emulator_forever
from tests.emulator.fake_service import FakeService
from tests.emulator.helpers import custom_text, mp_token, post


async def test_long_poll_wakes_on_a_new_message(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.register_user("mp", "o_1", interacted=True)
    token = await mp_token(http, emulator)
    url = emulator.base_url + "/emulator/messages"
    started = time.monotonic()
    poll = asyncio.create_task(http.get(url, params={"platform": "mp", "to": "o_1", "wait": 5}))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await post(http, emulator.mp_api_base + "/cgi-bin/message/custom/send", token, custom_text("o_1", "到了"))
    messages = (await poll).json()
    assert time.monotonic() - started < 2
    assert [m["content"] for m in messages] == ["到了"]
    after = messages[0]["id"]
    quiet = await http.get(url, params={"after": after, "wait": 0.2})
    assert quiet.json() == []
    assert await emulator.wait_for_messages(to="o_1", after=after, within=0.1) == []


async def test_stop_does_not_wait_for_a_pending_long_poll(http: httpx.AsyncClient) -> None:
    emulator = await Emulator().start()
    poll = asyncio.create_task(http.get(emulator.base_url + "/emulator/messages", params={"wait": 30}))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await emulator.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(httpx.HTTPError):
        await poll


async def test_users_clock_and_reset(emulator: Emulator, http: httpx.AsyncClient) -> None:
    base = emulator.base_url + "/emulator"
    created = (await http.post(base + "/users", json={"platform": "work", "id": "zhangsan"})).json()
    assert created["following"] is True and emulator.user("work", "zhangsan") is not None
    assert (await http.post(base + "/users", json={"platform": "qq", "id": "x"})).status_code == 400
    assert [u["id"] for u in (await http.get(base + "/users", params={"platform": "work"})).json()] == [
        "zhangsan"
    ]
    before = emulator.now()
    clock = (await http.post(base + "/clock", json={"advance": 3600})).json()
    assert clock["now"] >= before + 3600 and clock["offset"] == 3600
    emulator.force_error("*", -1)
    assert (await http.post(base + "/reset")).json() == {"ok": True}
    assert emulator.calls() == [] and emulator.state.faults.forced == []
    assert emulator.user("work", "zhangsan") is not None


async def test_phone_through_the_control_api(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    base = emulator.base_url + "/emulator/phones"
    answer = (await http.post(base + "/mp/o_1/send", json={"text": "帮助"})).json()
    assert answer["status"] == 200 and answer["reply"]["Content"] == "收到: 帮助"
    assert answer["reply"]["ToUserName"] == "o_1"
    event = {"event": "subscribe", "event_key": "qrscene_C01"}
    answer = (await http.post(base + "/mp/o_2/send", json=event)).json()
    assert answer == {"status": 200, "reply": None, "raw": "success"}
    assert service.received[-1].message.scene_id == "C01"
    card = {
        "event": "template_card_event",
        "event_key": "confirm",
        "task_id": "T1",
        "card_type": "button_interaction",
    }
    assert (await http.post(base + "/work/zhangsan/send", json=card)).json()["status"] == 200
    assert service.received[-1].message._data["TaskId"] == "T1"
    replayed = (await http.post(base + "/mp/o_1/replay")).json()
    assert replayed["reply"]["Content"] == "收到: 帮助"
    assert service.received[-1].body == service.received[0].body
    assert (await http.post(base + "/qq/o_1/send", json={"text": "x"})).status_code == 404
    await service.stop()
    assert (await http.post(base + "/mp/o_1/send", json={"text": "x"})).status_code == 502


async def test_standalone_run(capsys: pytest.CaptureFixture[str], http: httpx.AsyncClient) -> None:
    task = asyncio.create_task(run_emulator_forever(EmulatorConfig(), "127.0.0.1", 0))
    for _ in range(50):
        await asyncio.sleep(0.02)
        if "控制接口" in capsys.readouterr().out or task.done():
            break
    else:
        pytest.fail("模拟器没有启动")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_app_under_pytest_aiohttp(aiohttp_client: Any) -> None:
    emulator = Emulator()
    client = await aiohttp_client(create_emulator_app(emulator))
    c = emulator.config
    answer = await (
        await client.get("/work/cgi-bin/gettoken", params={"corpid": c.work_corpid, "corpsecret": "x"})
    ).json()
    assert answer["errcode"] == 40001
    assert (await (await client.get("/emulator")).json())["last_message_id"] == 0
