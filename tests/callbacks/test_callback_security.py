"""What reaches /wechat/* without proving it comes from WeChat is refused with a 4xx and a reason,
and leaves no trace; WeChat's own sample vectors are accepted."""

import time

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from models import InboundMessage
from tests.conftest import running_stack
from tests.stack import Stack

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10))
    + ']><xml><ToUserName>x</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType>'
    "<Content>&lol9;</Content><MsgId>1</MsgId><CreateTime>1</CreateTime></xml>"
)


async def _stored(stack: Stack) -> int:
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(InboundMessage))).one()


@pytest.mark.parametrize("platform", ["mp", "work"])
async def test_a_forged_signature_is_refused_and_nothing_is_stored(stack: Stack, platform: str) -> None:
    phone = stack.phone(platform, "o_forger")
    params, body = phone.build_request(phone.message_xml("text", [("Content", "帮助"), ("MsgId", 42)]),
                                       tamper_signature=True)
    async with stack.http() as http:
        response = await http.post(f"/wechat/{platform}", params=params, content=body)
    assert response.status_code == 403 and "签名" in response.text
    assert await _stored(stack) == 0


async def test_a_payload_encrypted_for_another_app_is_refused(stack: Stack) -> None:
    phone = stack.phone("mp", "o_x")
    params, body = phone.build_request(phone.message_xml("text", [("Content", "hi"), ("MsgId", 7)]),
                                       receive_id="wx_someone_else")
    async with stack.http() as http:
        response = await http.post("/wechat/mp", params=params, content=body)
    assert response.status_code == 403 and "receive id" in response.text
    assert await _stored(stack) == 0


async def test_an_old_timestamp_is_refused(stack: Stack) -> None:
    phone = stack.phone("mp", "o_x")
    params, body = phone.build_request(phone.message_xml("text", [("Content", "hi"), ("MsgId", 8)]),
                                       timestamp=int(time.time()) - 3600)
    async with stack.http() as http:
        response = await http.post("/wechat/mp", params=params, content=body)
    assert response.status_code == 403 and "时间窗口" in response.text


async def test_a_huge_body_is_refused_before_it_is_read(stack: Stack) -> None:
    async with stack.http() as http:
        response = await http.post("/wechat/mp", params={"timestamp": str(int(time.time()))},
                                   content=b"<xml>" + b"a" * 100_000 + b"</xml>")
    assert response.status_code == 413


async def test_an_entity_bomb_is_refused_fast(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(database_url, mp_safe_mode=False) as stack:
        phone = stack.phone("mp", "o_bomb")
        params, body = phone.build_request(BOMB)
        started = time.perf_counter()
        async with stack.http() as http:
            response = await http.post("/wechat/mp", params=params, content=body)
        assert response.status_code == 400 and "DTD" in response.text
        assert time.perf_counter() - started < 1.0
        # Malformed XML with a valid signature: 400 with a reason, and the server keeps serving.
        params, body = phone.build_request("<xml><MsgType>text</MsgType")
        async with stack.http() as http:
            response = await http.post("/wechat/mp", params=params, content=body)
        assert response.status_code == 400 and "XML" in response.text
        assert "可用指令" in (await phone.send_text("帮助")).content


async def test_plaintext_mode_works_too(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(database_url, mp_safe_mode=False) as stack:
        reply = await stack.phone("mp", "o_plain").send_text("帮助")
        assert "<Encrypt>" not in reply.raw and "可用指令" in reply.content


async def test_url_verification_on_both_platforms(stack: Stack) -> None:
    assert (await stack.phone("mp", "o").verify_url()).ok
    assert (await stack.phone("work", "u").verify_url()).ok
    forged = await stack.phone("work", "u").verify_url(tamper_signature=True)
    assert forged.status == 403


# The sample published with WeCom's callback documentation (2014 timestamps: the skew check is off).
WECOM_SAMPLE = {
    "work_corpid": "wx5823bf96d3bd56c7",
    "work_token": "QDG6eK",
    "work_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "callback_max_skew": 0,
}
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYY"
    "vuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+"
    "LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallc"
    "rw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8"
    "Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


async def test_the_official_wecom_sample_vectors_pass(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(database_url, **WECOM_SAMPLE) as stack, stack.http() as http:
        echo = await http.get("/wechat/work", params={
            "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
            "nonce": "263014780",
            "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
        })
        assert echo.status_code == 200 and echo.text == "1616140317555161061"

        body = (f"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]>"
                "</Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
        params = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
                  "nonce": "1372623149"}
        response = await http.post("/wechat/work", params=params, content=body)
        assert response.status_code == 200 and "<Encrypt>" in response.text
        async with stack.sessions() as s:
            row = (await s.exec(select(InboundMessage))).one()
        assert row.from_user == "mycreate" and row.content == "hello"
        assert row.dedupe_key.endswith(":m:4561255354251345929")


async def test_an_unconfigured_platform_is_not_found(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with running_stack(database_url, work_token="", work_aes_key="") as stack, stack.http() as http:
        response = await http.post("/wechat/work", content=b"<xml/>")
        assert response.status_code == 404


async def test_health_and_metrics(stack: Stack) -> None:
    await stack.phone("mp", "o_m").send_text("帮助")
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        health = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert health.json() == {"status": "ok", "database": "ok"}
    assert 'grassroots_callbacks_total{outcome="replied",platform="mp"} 1.0' in metrics.text
    assert "grassroots_callback_seconds_bucket" in metrics.text
    # A stranger is a miss in memory; the directory's size and the group commit's batches are shown.
    assert 'grassroots_directory_lookups_total{result="miss"} 1.0' in metrics.text
    assert 'grassroots_directory_entries{kind="identities"}' in metrics.text
    assert 'grassroots_directory_loads_total{kind="full"} 1.0' in metrics.text
    assert "grassroots_journal_batch_operations_count" in metrics.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('<!DOCTYPE xml SYSTEM "http://evil/x.dtd"><xml><MsgType>text</MsgType></xml>', "DTD"),
        ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>', "DTD"),
        ("<xml><Content>&undefined;</Content></xml>", "XML 格式错误"),
        ("not xml at all", "XML 格式错误"),
        ("", "XML 格式错误"),
    ],
)
def test_hostile_or_broken_xml_is_refused_with_a_reason(body: str, reason: str) -> None:
    from bot.callbacks.parsing import BadCallback, xml_fields

    with pytest.raises(BadCallback) as caught:
        xml_fields(body.encode())
    assert caught.value.status == 400 and reason in caught.value.reason


async def test_an_unencoded_plus_in_the_wecom_echostr_still_verifies(engine, database_url: str) -> None:  # type: ignore[no-untyped-def]
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    query = ("msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780"
             f"&echostr={echostr}")  # "+" left raw, as a careless proxy forwards it
    async with running_stack(database_url, **WECOM_SAMPLE) as stack, stack.http() as http:
        response = await http.get(f"/wechat/work?{query}")
    assert response.status_code == 200 and response.text == "1616140317555161061"
