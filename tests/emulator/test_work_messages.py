import httpx

from emulator import Emulator
from tests.emulator.helpers import post, work_text, work_token

SEND = "/cgi-bin/message/send"


async def test_invalid_users_are_listed_and_all_invalid_is_81013(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    url = emulator.work_api_base + SEND
    emulator.register_user("work", "zhangsan")
    emulator.register_user("work", "lisi")
    emulator.register_user("work", "left", following=False)
    token = await work_token(http, emulator)
    answer = await post(http, url, token, work_text(emulator, "zhangsan|wangwu|lisi|left"))
    assert answer["errcode"] == 0 and answer["invaliduser"] == "wangwu|left" and answer["msgid"]
    assert [m.recipient for m in emulator.messages(platform="work")] == ["zhangsan", "lisi"]
    assert {m.msgid for m in emulator.messages()} == {answer["msgid"]}
    nobody = await post(http, url, token, work_text(emulator, "wangwu|zhaoliu"))
    assert nobody["errcode"] == 81013 and nobody["invaliduser"] == "wangwu|zhaoliu"


async def test_message_checks(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.work_api_base + SEND
    emulator.register_user("work", "zhangsan")
    token = await work_token(http, emulator)
    wrong_agent = {**work_text(emulator, "zhangsan"), "agentid": 1}
    assert (await post(http, url, token, wrong_agent))["errcode"] == 40056
    many = "|".join(f"u{i}" for i in range(1001))
    assert (await post(http, url, token, work_text(emulator, many)))["errcode"] == 40058
    card = {
        "touser": "zhangsan",
        "msgtype": "template_card",
        "agentid": emulator.config.work_agentid,
        "template_card": {"card_type": "button_interaction", "main_title": {"title": "请确认参会"}},
    }
    answer = await post(http, url, token, card)
    assert answer["errcode"] == 0 and answer["response_code"]
    assert emulator.messages(to="zhangsan")[-1].content == "请确认参会"


async def test_per_member_limit_drops_silently(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.work_api_base + SEND
    emulator.register_user("work", "zhangsan")
    token = await work_token(http, emulator)
    for i in range(32):
        assert (await post(http, url, token, work_text(emulator, "zhangsan", f"第{i}条")))["errcode"] == 0
    messages = emulator.messages(to="zhangsan")
    assert len(messages) == 32
    assert all(m.delivered for m in messages[:30])
    assert [(m.delivered, m.drop_reason) for m in messages[30:]] == [(False, "rate-dropped")] * 2
    emulator.advance_clock(61)
    assert (await post(http, url, token, work_text(emulator, "zhangsan", "一分钟后")))["errcode"] == 0
    assert emulator.messages(to="zhangsan")[-1].delivered


async def test_per_member_hourly_limit(emulator: Emulator, http: httpx.AsyncClient) -> None:
    emulator.config.work_member_per_hour = 3
    url = emulator.work_api_base + SEND
    emulator.register_user("work", "zhangsan")
    token = await work_token(http, emulator)
    for i in range(4):
        emulator.advance_clock(61)
        await post(http, url, token, work_text(emulator, "zhangsan", f"第{i}条"))
    assert [m.delivered for m in emulator.messages()] == [True, True, True, False]


async def test_duplicate_check(emulator: Emulator, http: httpx.AsyncClient) -> None:
    url = emulator.work_api_base + SEND
    emulator.register_user("work", "zhangsan")
    token = await work_token(http, emulator)
    once = work_text(
        emulator, "zhangsan", "周五下午学习", enable_duplicate_check=1, duplicate_check_interval=600
    )
    for _ in range(2):
        assert (await post(http, url, token, once))["errcode"] == 0
    emulator.advance_clock(601)
    await post(http, url, token, once)
    await post(http, url, token, work_text(emulator, "zhangsan", "周五下午学习"))  # check off: sent again
    assert [(m.delivered, m.drop_reason) for m in emulator.messages()] == [
        (True, None),
        (False, "duplicate-check"),
        (True, None),
        (True, None),
    ]


async def test_robot(emulator: Emulator, http: httpx.AsyncClient) -> None:
    key = emulator.config.robot_keys[0]
    url = emulator.work_api_base + "/cgi-bin/webhook/send"

    async def send(body: dict, robot: str = key) -> int:
        response = await http.post(url, params={"key": robot}, json=body)
        return response.json()["errcode"]

    text = {"msgtype": "text", "text": {"content": "请各位查收", "mentioned_list": ["zhangsan"]}}
    assert await send(text, "nokey") == 93000
    assert await send({"msgtype": "text", "text": {"content": "长" * 683}}) == 40058  # 2049 bytes
    assert await send({"msgtype": "markdown", "markdown": {"content": "a" * 4097}}) == 40058
    assert await send({"msgtype": "markdown", "markdown": {"content": "a" * 4096}}) == 0
    for _ in range(19):
        assert await send(text) == 0
    assert await send(text) == 45009
    emulator.advance_clock(60)
    assert await send(text) == 0
    robot_messages = emulator.messages(platform="robot", to=key)
    assert len(robot_messages) == 21
    assert robot_messages[-1].payload["text"]["mentioned_list"] == ["zhangsan"]
