"""Channel adapters against the WeChat emulator (real HTTP, real token handling)."""

from bot.delivery.channels import (
    NOT_A_MEMBER,
    UNLICENSED,
    MpCustomChannel,
    MpTemplateChannel,
    RobotChannel,
    WorkAppChannel,
    truncate_chars,
    truncate_utf8,
)
from bot.delivery.errors import ErrorClass
from bot.keys import API
from emulator import EmulatorConfig
from tests.stack import Stack

ROBOT_KEY = EmulatorConfig().robot_keys[0]


def test_truncation_helpers() -> None:
    assert truncate_chars("短", 20) == "短"
    assert truncate_chars("一" * 21, 20) == "一" * 19 + "…"
    assert truncate_utf8("abc", 2048) == "abc"
    cut = truncate_utf8("a" + "通" * 1000, 2048)  # a 3-byte character straddles the cut
    assert len(cut.encode()) <= 2048 and cut.endswith("…") and "\ufffd" not in cut


async def test_work_message_skips_unknown_user(stack: Stack) -> None:
    stack.emulator.register_user("work", "u1")
    stack.emulator.register_user("work", "u2")
    outcomes = await WorkAppChannel(stack.app[API]).send(["u1", "u2", "ghost"], "明天上午九点开会", dedupe_seconds=600)
    by_user = {o.recipient: o for o in outcomes}
    assert by_user["u1"].ok and by_user["u2"].ok and by_user["u1"].msgid
    ghost = by_user["ghost"]
    assert not ghost.ok and ghost.error_class is ErrorClass.permanent and ghost.reason == NOT_A_MEMBER
    assert sorted(m.recipient for m in stack.emulator.messages("work") if m.delivered) == ["u1", "u2"]
    body = stack.emulator.calls("message/send")[0].body
    assert body["enable_duplicate_check"] == 1 and body["duplicate_check_interval"] == 600


async def test_a_member_without_an_interface_licence_is_told_apart(stack: Stack) -> None:
    """WeCom lists members without an interface licence (接口许可) in `unlicenseduser`: they get nothing,
    so the row must not count as sent (the dispatcher then falls back to the Official Account)."""
    stack.emulator.register_user("work", "u1")
    stack.emulator.register_user("work", "nolicence", licensed=False)
    outcomes = await WorkAppChannel(stack.app[API]).send(["u1", "nolicence"], "明天上午九点开会")
    by_user = {o.recipient: o for o in outcomes}
    assert by_user["u1"].ok
    assert (by_user["nolicence"].ok, by_user["nolicence"].error_class) == (False, ErrorClass.permanent)
    assert by_user["nolicence"].reason == UNLICENSED
    assert [m.recipient for m in stack.emulator.messages("work") if m.delivered] == ["u1"]


async def test_work_message_all_invalid_is_permanent(stack: Stack) -> None:
    outcomes = await WorkAppChannel(stack.app[API]).send(["nobody", "gone"], "通知", dedupe_seconds=None)
    assert [(o.ok, o.error_class, o.errcode) for o in outcomes] == [(False, ErrorClass.permanent, 81013)] * 2
    assert "enable_duplicate_check" not in stack.emulator.calls("message/send")[0].body


async def test_work_message_splits_at_1000_users(stack: Stack) -> None:
    users = [f"m{i}" for i in range(1500)]
    for user in users:
        stack.emulator.register_user("work", user)
    outcomes = await WorkAppChannel(stack.app[API]).send(users, "全员通知")
    assert len(outcomes) == 1500 and all(o.ok for o in outcomes)
    calls = stack.emulator.calls("message/send")
    assert [len(c.body["touser"].split("|")) for c in calls] == [1000, 500]
    assert len(stack.emulator.messages("work")) == 1500


async def test_work_token_error_is_refreshed_and_retried(stack: Stack) -> None:
    stack.emulator.register_user("work", "u1")
    stack.emulator.force_error("message/send", 40001)
    outcomes = await WorkAppChannel(stack.app[API]).send(["u1"], "重试也只送一次")
    assert [o.ok for o in outcomes] == [True]
    assert [c.errcode for c in stack.emulator.calls("message/send")] == [40001, 0]
    assert len(stack.emulator.messages("work", "u1")) == 1


async def test_mp_custom_outside_48_hours_is_window(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o1", interacted=True)
    channel = MpCustomChannel(stack.app[API])
    assert (await channel.send("o1", "您好"))[0].ok
    stack.emulator.advance_clock(48 * 3600 + 1)
    [late] = await channel.send("o1", "还在吗")
    assert not late.ok and late.error_class is ErrorClass.window and late.errcode == 45015
    assert late.reason == "用户超过48小时未互动，客服消息无法送达"
    assert len(stack.emulator.messages("mp", "o1")) == 1


async def test_mp_custom_system_busy_is_transient(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o1", interacted=True)
    stack.emulator.force_error("message/custom/send", -1)
    [outcome] = await MpCustomChannel(stack.app[API]).send("o1", "您好")
    assert outcome.error_class is ErrorClass.transient and outcome.errcode == -1
    assert stack.emulator.messages("mp") == []


async def test_mp_custom_http_500_and_dropped_connection_are_transient(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o1", interacted=True)
    channel = MpCustomChannel(stack.app[API])
    await channel.send("o1", "先取得令牌")  # so the faults hit the send, not the token fetch
    stack.emulator.set_faults(http_500_rate=1.0)
    [server_error] = await channel.send("o1", "您好")
    assert server_error.error_class is ErrorClass.transient and "500" in server_error.reason
    stack.emulator.set_faults(http_500_rate=0.0, drop_rate=1.0, seed=1)
    [dropped] = await channel.send("o1", "您好")
    assert dropped.error_class is ErrorClass.transient and dropped.errcode is None


async def test_mp_custom_not_following_is_window(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o2", following=False)
    [outcome] = await MpCustomChannel(stack.app[API]).send("o2", "您好")
    assert outcome.error_class is ErrorClass.window and outcome.reason == "用户未关注公众号"


async def test_template_fields_are_trimmed_and_accepted(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o1")
    long = "关于本周六社区环境整治志愿活动的详细安排与分工说明"
    [outcome] = await MpTemplateChannel(stack.app[API]).send(
        "o1",
        template_id="TPL_NOTICE",
        url="https://example.org/n/1",
        fields={"thing1": long, "time3": "2026年12月5日 09:00", "thing2": long},
    )
    assert outcome.ok and outcome.msgid
    data = stack.emulator.calls("template/send")[0].body["data"]
    assert data["thing1"]["value"] == long[:19] + "…" and data["thing2"]["value"] == long[:19] + "…"
    assert data["time3"]["value"] == "2026年12月5日 09:00"
    assert len(stack.emulator.messages("mp", "o1")) == 1
    await stack.emulator.drain()


async def test_template_bad_id_is_permanent(stack: Stack) -> None:
    stack.emulator.register_user("mp", "o1")
    [outcome] = await MpTemplateChannel(stack.app[API]).send(
        "o1", template_id="NOPE", url="https://example.org", fields={"thing1": "通知"}
    )
    assert outcome.error_class is ErrorClass.permanent and outcome.errcode == 40037


async def test_robot_long_text_is_cut_and_accepted(stack: Stack) -> None:
    text = "社区通知：" + "请各位居民按时参加。" * 300
    [outcome] = await RobotChannel(stack.app[API]).send(ROBOT_KEY, text, mention_userids=["u1"])
    assert outcome.ok
    [message] = stack.emulator.messages("robot")
    assert len(message.content.encode()) <= 2048 and message.content.endswith("…")
    assert message.payload["text"]["mentioned_list"] == ["u1"]


async def test_robot_unknown_key_is_permanent(stack: Stack) -> None:
    [outcome] = await RobotChannel(stack.app[API]).send("wrong-key", "你好")
    assert not outcome.ok and outcome.error_class is ErrorClass.permanent and outcome.errcode == 93000
    assert stack.emulator.messages("robot") == []


async def test_robot_rate_limit_is_rate(stack: Stack) -> None:
    stack.emulator.force_error("webhook/send", 45009)
    [outcome] = await RobotChannel(stack.app[API]).send(ROBOT_KEY, "你好")
    assert outcome.error_class is ErrorClass.rate
