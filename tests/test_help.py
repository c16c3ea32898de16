"""Anyone who writes gets an answer: help that fits who they are, and a hint for what is not understood."""

from tests.seed import Roster
from tests.stack import Stack


async def test_a_stranger_is_told_how_to_bind_or_join(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_text("帮助")
    assert "绑定 邀请码" in reply.content and "扫描所在社区的二维码" in reply.content


async def test_a_secretary_sees_the_secretary_commands(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("work", "wangshuji").send_text("？")
    assert "后台" in reply.content and "阳光社区 书记" in reply.content


async def test_text_the_bot_does_not_understand_gets_a_short_hint(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_text("今天天气怎么样呀我想问问社区的活动安排")
    assert reply.content.startswith("没看懂") and "帮助" in reply.content
    assert "…" in reply.content  # long text is shortened in the answer


async def test_a_reply_echoing_cdata_terminators_stays_valid_xml(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_text("a]]>b")
    assert "a]]>b" in reply.content


async def test_a_picture_gets_told_that_only_text_works(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_message("image", PicUrl="http://x/y.jpg", MediaId="m1")
    assert "文字消息" in reply.content


async def test_an_unhandled_event_is_answered_success(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_event("VIEW", "http://example.com")
    assert reply.status == 200 and reply.raw == "success"


async def test_the_help_menu_button_gives_help(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").click("HELP")
    assert "可用指令" in reply.content


async def test_a_voice_message_is_understood_through_speech_recognition(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_message("voice", MediaId="m2", Format="amr", Recognition="帮助。")
    assert "可用指令" in reply.content


async def test_a_voice_message_without_recognition_asks_for_text(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_message("voice", MediaId="m3", Format="amr")
    assert "文字消息" in reply.content


async def test_an_unbound_members_receipt_is_told_how_to_bind(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_new").send_text("收到")
    assert reply.content.startswith("您的微信还没有绑定党员身份") and "绑定 邀请码" in reply.content
    casual = await stack.phone("mp", "o_new").send_text("好的")
    assert casual.content.startswith("没看懂")  # a casual word is not a receipt from a stranger


async def test_a_residents_help_lists_no_task_commands(stack: Stack, roster: Roster) -> None:
    joined = await stack.phone("mp", "o_res").send_event("subscribe", "qrscene_C01")  # scans the community's code
    assert "阳光社区" in joined.content

    reply = await stack.phone("mp", "o_res").send_text("帮助")

    assert "居民" in reply.content and "收到" in reply.content and "完成 说明" not in reply.content
