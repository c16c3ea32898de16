import httpx

from emulator import Emulator
from tests.emulator.fake_service import FakeService
from tests.emulator.helpers import custom_text, mp_token, post, template

CUSTOM = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"


async def test_custom_message_is_recorded(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.register_user("mp", "o_1", interacted=True)
    token = await mp_token(http, emulator)
    answer = await post(http, emulator.mp_api_base + CUSTOM, token, custom_text("o_1", "明天上午九点开会"))
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [message] = emulator.messages(platform="mp", to="o_1")
    assert (message.api, message.msgtype, message.content, message.delivered) == (
        "custom",
        "text",
        "明天上午九点开会",
        True,
    )
    news = {"touser": "o_1", "msgtype": "news", "news": {"articles": [{"title": "通知", "url": "https://x"}]}}
    assert (await post(http, emulator.mp_api_base + CUSTOM, token, news))["errcode"] == 0
    assert emulator.messages(to="o_1")[-1].payload == news


async def test_custom_message_refusals(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.mp_api_base + CUSTOM
    token = await mp_token(http, emulator)
    emulator.register_user("mp", "o_gone", following=False, interacted=True)
    emulator.register_user("mp", "o_quiet")  # follows, but never wrote
    assert (await post(http, url, token, custom_text("o_nobody")))["errcode"] == 40003
    assert (await post(http, url, token, custom_text("o_gone")))["errcode"] == 43004
    assert (await post(http, url, token, custom_text("o_quiet")))["errcode"] == 45015
    assert (await post(http, url, token, {"touser": "o_quiet", "msgtype": "fax"}))["errcode"] == 40008
    bad = await http.post(url, params={"access_token": token}, content=b"<xml/>")
    assert bad.status_code == 200 and bad.json()["errcode"] == 47001
    assert emulator.messages() == []


async def test_48_hour_window(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.register_user("mp", "o_1", interacted=True)
    url = emulator.mp_api_base + CUSTOM
    emulator.advance_clock(48 * 3600 - 60)
    token = await mp_token(http, emulator)
    assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 0
    emulator.advance_clock(61)
    assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 45015


async def test_replies_per_interaction_and_reset_by_the_phone(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    url = emulator.mp_api_base + CUSTOM
    token = await mp_token(http, emulator)
    await emulator.phone("mp", "o_1").send_text("在吗")
    for _ in range(5):
        assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 0
    assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 45047
    await emulator.phone("mp", "o_1").click("MENU_TASKS")
    assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 0
    await emulator.phone("mp", "o_1").send_event("unsubscribe")
    assert (await post(http, url, token, custom_text("o_1")))["errcode"] == 43004
    assert len(emulator.messages(to="o_1")) == 6


async def test_template_checks(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.mp_api_base + TEMPLATE
    emulator.config.template_daily_quota = 2
    emulator.config.mp_callback_url = ""  # no delivery report wanted here
    emulator.register_user("mp", "o_1")  # no 48 h window for templates
    token = await mp_token(http, emulator)
    assert (await post(http, url, token, {**template("o_1"), "template_id": "TPL_X"}))["errcode"] == 40037
    assert (await post(http, url, token, template("o_nobody")))["errcode"] == 40003
    assert (await post(http, url, token, template("o_1", thing1="一" * 21)))["errcode"] == 47003
    ok = await post(http, url, token, template("o_1", thing1="一" * 20, time2="6月1日 9:00"))
    assert ok["errcode"] == 0 and isinstance(ok["msgid"], int)
    [message] = emulator.messages(to="o_1")
    assert message.api == "template" and message.msgid == str(ok["msgid"])
    # Shown as the phone shows a card: the template's title, then each keyword by its name.
    assert message.content.splitlines()[:2] == ["工作通知", "通知标题：" + "一" * 20]
    assert "time2：6月1日 9:00" in message.content  # a keyword the template does not name shows its key
    assert (await post(http, url, token, template("o_1", time3="明天下午")))["errcode"] == 47003  # not a time
    assert (await post(http, url, token, template("o_1")))["errcode"] == 0
    assert (await post(http, url, token, template("o_1")))["errcode"] == 45009
    emulator.advance_clock(86400)
    token = await mp_token(http, emulator)
    assert (await post(http, url, token, template("o_1")))["errcode"] == 0


async def test_template_delivery_report(
    emulator: Emulator, http: httpx.AsyncClient, service: FakeService
) -> None:
    url = emulator.mp_api_base + TEMPLATE
    emulator.register_user("mp", "o_ok")
    emulator.register_user("mp", "o_blocker", blocked=True)
    token = await mp_token(http, emulator)
    ok = await post(http, url, token, template("o_ok", thing1="换届选举"))
    blocked = await post(http, url, token, template("o_blocker", thing1="换届选举"))
    await emulator.drain()
    reports = {r.message.source: r.message for r in service.received}
    assert reports["o_ok"].event == "templatesendjobfinish"
    assert reports["o_ok"].status == "success" and int(reports["o_ok"].id) == ok["msgid"]
    assert (
        reports["o_blocker"].status == "failed:user block"
        and int(reports["o_blocker"].id) == blocked["msgid"]
    )
    assert [m.delivered for m in emulator.messages()] == [True, False]
    assert emulator.user("mp", "o_ok").last_interaction is None  # a report is not the user's action
