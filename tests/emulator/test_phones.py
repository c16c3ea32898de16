import httpx
import pytest

from emulator import Emulator, PhoneReplyError, PhoneTimeoutError
from emulator.callback_xml import parse_xml
from tests.emulator import fake_service
from tests.emulator.fake_service import FakeService


async def test_mp_safe_mode_text(emulator: Emulator, service: FakeService) -> None:
    phone = emulator.phone("mp", "o_1")
    reply = await phone.send_text("帮助")
    assert reply.status == 200 and reply.content == "收到: 帮助"
    assert reply.reply is not None and reply.reply["FromUserName"] == emulator.config.mp_appid
    [received] = service.received
    assert {"signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature"} <= set(
        received.params
    )
    assert received.params["openid"] == "o_1" and received.params["encrypt_type"] == "aes"
    assert set(parse_xml(received.body.decode())) == {"ToUserName", "Encrypt"}
    message = received.message
    assert (message.type, message.source, message.target, message.content) == (
        "text",
        "o_1",
        emulator.config.mp_appid,
        "帮助",
    )
    assert message.id > 0
    user = emulator.user("mp", "o_1")
    assert user is not None and user.following and user.last_interaction is not None


async def test_mp_plaintext_mode(emulator: Emulator, service: FakeService) -> None:
    emulator.config.mp_safe_mode = False
    emulator.config.mp_original_id = "gh_0123456789ab"
    phone = emulator.phone("mp", "o_plain")
    reply = await phone.send_text("a <&> b")
    assert reply.content == "收到: a <&> b"
    [received] = service.received
    assert "encrypt_type" not in received.params and "msg_signature" not in received.params
    assert received.message.target == "gh_0123456789ab"
    service.mode = fake_service.SUCCESS
    await phone.send_text("a]]>b")  # CDATA must be split around "]]>"
    assert service.received[-1].message.content == "a]]>b"


async def test_work_text_and_events(emulator: Emulator, service: FakeService) -> None:
    phone = emulator.phone("work", "zhangsan")
    reply = await phone.send_text("确认")
    assert reply.content == "收到: 确认"
    assert set(service.received[0].params) == {"msg_signature", "timestamp", "nonce"}
    outer = parse_xml(service.received[0].body.decode())
    assert (
        outer["AgentID"] == str(emulator.config.work_agentid)
        and outer["ToUserName"] == emulator.config.work_corpid
    )
    assert service.received[0].message.agent == emulator.config.work_agentid
    assert (await phone.enter_agent()).reply is None
    assert service.received[-1].message.event == "enter_agent"
    await phone.template_card_event("confirm_yes", "TASK_9", response_code="rc1")
    raw = service.received[-1].message._data
    assert (raw["Event"], raw["EventKey"], raw["TaskId"], raw["CardType"], raw["ResponseCode"]) == (
        "template_card_event",
        "confirm_yes",
        "TASK_9",
        "button_interaction",
        "rc1",
    )
    assert "MsgId" not in raw


async def test_follow_scan_unfollow(emulator: Emulator, service: FakeService) -> None:
    phone = emulator.phone("mp", "o_new")
    await phone.send_event("subscribe", event_key="qrscene_C01")
    assert service.received[-1].message.scene_id == "C01"
    assert emulator.user("mp", "o_new").following
    await phone.send_event("SCAN", event_key="C02")
    assert service.received[-1].message.scene_id == "C02"
    await phone.send_event("unsubscribe")
    assert not emulator.user("mp", "o_new").following


async def test_replay_is_byte_identical_and_msg_ids_increase(
    emulator: Emulator, service: FakeService
) -> None:
    phone = emulator.phone("mp", "o_1")
    await phone.send_text("一")
    await phone.send_text("二")
    replayed = await phone.replay()
    assert replayed.content == "收到: 二"
    first, second, again = service.received
    assert (again.params, again.body) == (second.params, second.body)
    assert second.message.id > first.message.id
    with pytest.raises(Exception, match="还没有发过消息"):
        await emulator.phone("mp", "o_silent").replay()


@pytest.mark.parametrize("platform", ["mp", "work"])
@pytest.mark.parametrize(
    "mode", [fake_service.TAMPERED, fake_service.WRONG_ID, fake_service.PLAIN, fake_service.GARBAGE]
)
async def test_a_broken_reply_raises(
    emulator: Emulator, service: FakeService, platform: str, mode: str
) -> None:
    service.mode = mode
    with pytest.raises(PhoneReplyError) as caught:
        await emulator.phone(platform, "u_1").send_text("你好")
    assert caught.value.status == 200 and caught.value.raw


async def test_success_and_timeout(emulator: Emulator, service: FakeService) -> None:
    service.mode = fake_service.SUCCESS
    reply = await emulator.phone("mp", "o_1").send_text("你好")
    assert (reply.status, reply.raw, reply.reply, reply.content) == (200, "success", None, None)
    service.mode = fake_service.SLOW
    emulator.config.callback_timeout = 0.1
    with pytest.raises(PhoneTimeoutError):
        await emulator.phone("mp", "o_1").send_text("你好")


@pytest.mark.parametrize("platform", ["mp", "work"])
async def test_url_verification(emulator: Emulator, service: FakeService, platform: str) -> None:
    phone = emulator.phone(platform, "u_1")
    check = await phone.verify_url("echo12345")
    assert check.ok and check.body == "echo12345"
    assert (await phone.verify_url(tamper_signature=True)).status == 403


@pytest.mark.parametrize("platform", ["mp", "work"])
async def test_forged_requests(
    emulator: Emulator, service: FakeService, http: httpx.AsyncClient, platform: str
) -> None:
    phone = emulator.phone(platform, "u_1")
    xml = phone.message_xml("text", [("Content", "伪造"), ("MsgId", 1)])
    url = phone.url
    for forged in (
        phone.build_request(xml, tamper_signature=True),
        phone.build_request(xml, receive_id="wx_someone_else"),
    ):
        params, body = forged
        assert (await http.post(url, params=params, content=body)).status_code == 403
    params, body = phone.build_request(xml, timestamp=1400000000, nonce="123")
    assert params["timestamp"] == "1400000000"
    assert (await phone.post(params, body)).content == "收到: 伪造"
