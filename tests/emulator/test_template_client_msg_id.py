"""Template sends with a client_msg_id: for one openid and client_msg_id WeChat sends one message within
10 minutes (by the emulator's clock); a repeat answers ok with the first msgid and is not delivered again."""

from typing import Any

import httpx

from emulator import Emulator
from tests.emulator.fake_service import FakeService
from tests.emulator.helpers import mp_token, post, template

TEMPLATE = "/cgi-bin/message/template/send"
TEN_MINUTES = 600


def notice(openid: str, client_msg_id: str | None = None) -> dict[str, Any]:
    body = template(openid, thing1="支部大会", time2="6月1日 9:00")
    return body if client_msg_id is None else {**body, "client_msg_id": client_msg_id}


def reports_to(service: FakeService, openid: str) -> list[int]:
    """The msgids of the TEMPLATESENDJOBFINISH callbacks our service got for this openid."""
    return [
        int(r.message.id)
        for r in service.received
        if r.message.event == "templatesendjobfinish" and r.message.source == openid
    ]


async def test_a_template_repeated_with_the_same_client_msg_id_within_ten_minutes_reaches_the_phone_once(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    first = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    emulator.advance_clock(TEN_MINUTES - 1)
    repeat = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    await emulator.drain()
    assert first["errcode"] == 0 and repeat == {"errcode": 0, "errmsg": "ok", "msgid": first["msgid"]}
    [message] = emulator.messages(to="o_1")
    assert message.msgid == str(first["msgid"])
    assert reports_to(service, "o_1") == [first["msgid"]]
    assert [(c.errcode, c.duplicate) for c in emulator.calls(TEMPLATE)] == [(0, False), (0, True)]
    recorded = (await http.get(emulator.base_url + "/emulator/calls", params={"endpoint": TEMPLATE})).json()
    assert [c["duplicate"] for c in recorded] == [False, True]


async def test_after_ten_minutes_the_same_client_msg_id_is_a_new_message(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    first = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    emulator.advance_clock(TEN_MINUTES)
    later = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    emulator.advance_clock(TEN_MINUTES - 1)  # the window now runs from the second message
    again = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    await emulator.drain()
    assert later["errcode"] == 0 and later["msgid"] != first["msgid"] and again["msgid"] == later["msgid"]
    assert [m.msgid for m in emulator.messages(to="o_1")] == [str(first["msgid"]), str(later["msgid"])]
    assert reports_to(service, "o_1") == [first["msgid"], later["msgid"]]
    assert [c.duplicate for c in emulator.calls(TEMPLATE)] == [False, False, True]


async def test_the_same_client_msg_id_to_another_openid_is_delivered_to_them(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    emulator.register_user("mp", "o_1")
    emulator.register_user("mp", "o_2")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    to_one = await post(http, url, token, notice("o_1", "notice-12"))
    to_two = await post(http, url, token, notice("o_2", "notice-12"))
    await emulator.drain()
    assert to_two["errcode"] == 0 and to_two["msgid"] != to_one["msgid"]
    assert [m.recipient for m in emulator.messages()] == ["o_1", "o_2"]
    assert reports_to(service, "o_2") == [to_two["msgid"]]


async def test_a_client_msg_id_over_64_bytes_is_refused_and_nothing_is_sent(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    emulator.config.mp_callback_url = ""  # no delivery report wanted here
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    # The limit is in UTF-8 bytes: 22 Chinese characters are 66 bytes.
    for too_long in ("n" * 65, "通" * 22):
        answer = await post(http, url, token, notice("o_1", too_long))
        assert answer == {"errcode": 45067, "errmsg": "clientmsgid size out of limit"}
    assert emulator.messages() == []
    assert (await post(http, url, token, notice("o_1", "n" * 64)))["errcode"] == 0
    assert (await post(http, url, token, notice("o_1", "通" * 21)))["errcode"] == 0
    assert len(emulator.messages(to="o_1")) == 2


async def test_templates_without_a_client_msg_id_are_each_delivered(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    answers = [await post(http, url, token, body) for body in (notice("o_1"), notice("o_1"), notice("o_1", ""))]
    await emulator.drain()
    assert [a["errcode"] for a in answers] == [0, 0, 0] and len({a["msgid"] for a in answers}) == 3
    assert len(emulator.messages(to="o_1")) == 3
    assert sorted(reports_to(service, "o_1")) == sorted(a["msgid"] for a in answers)  # reports race each other
    assert not any(c.duplicate for c in emulator.calls(TEMPLATE))


async def test_a_folded_repeat_spends_no_daily_quota(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.config.mp_callback_url = ""
    emulator.config.template_daily_quota = 1
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    first = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    # Safe to repeat after a timeout even when the day's quota is spent: it is the same message.
    assert (await post(http, url, token, notice("o_1", "notice-12-o_1")))["msgid"] == first["msgid"]
    assert (await post(http, url, token, notice("o_1", "notice-13-o_1")))["errcode"] == 45009


async def test_a_reset_forgets_the_client_msg_ids(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.config.mp_callback_url = ""
    emulator.register_user("mp", "o_1")
    token = await mp_token(http, emulator)
    url = emulator.mp_api_base + TEMPLATE
    first = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    emulator.reset()
    after_reset = await post(http, url, token, notice("o_1", "notice-12-o_1"))
    assert after_reset["msgid"] != first["msgid"] and len(emulator.messages(to="o_1")) == 1
