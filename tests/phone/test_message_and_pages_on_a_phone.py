"""A resident writes about a broken street light on a phone; the community secretary finds it in the
chat and on the 留言 page of 后台, answers there, and the answer reaches the resident's chat. The admin
pages a secretary opens on the way count the whole subtree."""

import re

from playwright.async_api import Page, expect

from bot.demo.stack import DemoStack
from tests.phone.browser import Chat, audit, shot
from tests.phone.test_notice_on_a_phone import CLEAN, persona

LAMP = "小区3号楼门口的路灯坏了好几天了，晚上老人出门看不清，麻烦社区找人修一下"


async def test_a_residents_message_is_answered_on_the_inbox_page(phone: Page, demo_by_day: DemoStack) -> None:
    demo = demo_by_day
    await phone.goto(demo.base_url)
    chat = Chat(phone)
    await chat.open_persona(persona(demo, "阳光社区居民"))
    told = await chat.say(LAMP)
    number = re.search(r"编号 (\d+)", told)
    assert number and "已转给阳光社区" in told and "2 个工作日" in told, told
    await shot(phone, "11-resident-message-passed-on")

    await chat.back()
    await chat.open_persona(persona(demo, "阳光社区书记"))
    forwarded = await chat.wait_for_bot(f"【留言 第{number[1]}号】")
    assert LAMP in await forwarded.inner_text()
    listed = await chat.say("留言")
    assert f"第 {number[1]} 号 · 林军" in listed
    await shot(phone, "12-secretary-sees-the-message")
    await chat.tap_quick("后台")
    async with phone.context.expect_page() as opened:
        await phone.locator("#messages .bubble a", has_text="/admin/login").last.tap()
    admin = await opened.value
    await expect(admin.locator("header")).to_have_text("阳光社区 管理")
    overview = await admin.locator("main").inner_text()
    # The community's count holds its branches' members too.
    community = re.search(r"阳光社区\s*社区\s*含下级：党员 (\d+)", overview)
    branch = re.search(r"阳光社区第一党支部\s*党支部\s*含下级：党员 (\d+)", overview)
    assert community and branch and int(community[1]) > int(branch[1]) > 0, overview
    await shot(admin, "13-admin-overview")
    assert await audit(admin) == CLEAN
    await admin.get_by_role("link", name="阳光社区第一党支部", exact=True).tap()
    await expect(admin.locator("header")).to_have_text("阳光社区第一党支部")
    await shot(admin, "13b-admin-organisation")
    assert await audit(admin) == CLEAN
    await admin.go_back()
    await admin.get_by_role("link", name=re.compile("通知和任务")).tap()
    await expect(admin.locator("header")).to_have_text("阳光社区 · 通知和任务")
    assert await audit(admin) == CLEAN
    await admin.go_back()

    await admin.get_by_role("link", name=re.compile("留言（未答复 1）")).tap()
    await expect(admin.locator("header")).to_have_text("阳光社区 · 留言")
    await expect(admin.locator(f"#inquiry-{number[1]}")).to_contain_text(LAMP)
    await shot(admin, "14-inbox")
    assert await audit(admin) == CLEAN
    await admin.locator(f"#a{number[1]}").fill("已联系物业，明天上午修好，谢谢您反映！")
    await admin.get_by_role("button", name="发送答复").tap()
    await expect(admin.locator(".flash")).to_have_text("已答复，对方会在微信里收到。")
    await expect(admin.locator("main")).to_contain_text("未答复 0 条")
    await shot(admin, "15-inbox-answered")

    await chat.back()
    await chat.open_persona(persona(demo, "阳光社区居民"))
    answer = await chat.wait_for_bot("已联系物业，明天上午修好")
    assert f"留言第{number[1]}号" in await answer.inner_text()
    await shot(phone, "16-resident-gets-the-answer")
    assert await audit(phone) == CLEAN


async def test_at_night_the_secretary_is_told_when_a_notice_goes_and_can_send_it_now(
    phone: Page, demo_at_night: DemoStack
) -> None:
    demo = demo_at_night
    await phone.goto(demo.base_url)
    chat = Chat(phone)
    await chat.open_persona(persona(demo, "阳光社区书记"))
    await expect(phone.locator("#messages .note").last).to_contain_text("休息时段")
    await chat.say("发通知：明天上午9点社区大扫除，请党员带好工具")
    for answer in ("阳光社区", "党员", "普通", "不用"):
        await chat.say(answer)
    await chat.say("不是任务")
    held = await chat.say("确认")
    assert "正在发送" not in held and re.search(r"将于 \d\d:\d\d", held) and "紧急" in held, held
    number = re.search(r"编号 (\d+)", held) or re.search(r"紧急 (\d+)", held)
    assert number, held
    await shot(phone, "21-night-notice-waits")
    progress = await chat.say(f"进度 {number[1]}")
    assert "等待发送" in progress and "休息时段" in progress, progress
    now = await chat.tap_quick("紧急")
    assert now == f"已改为紧急：第 {number[1]} 号通知现在发送给 12 人。", now
    await shot(phone, "22-night-sent-at-once")
    assert await audit(phone) == CLEAN


async def test_a_newcomer_joins_by_scanning_and_nobody_is_left_without_an_answer(
    phone: Page, demo_by_day: DemoStack
) -> None:
    demo = demo_by_day
    await phone.goto(demo.base_url)
    chat = Chat(phone)
    await chat.open_persona("newcomer")
    welcome = await chat.tap_quick("扫码关注阳光社区")
    assert "欢迎" in welcome and "已加入阳光社区" in welcome, welcome
    help_text = await chat.say("帮助")
    assert "反映" in help_text and "完成" not in help_text, help_text
    asked = await chat.say("明天几点开会")
    assert "已转给阳光社区" in asked, asked
    await shot(phone, "31-newcomer-joins-and-asks")
    assert await audit(phone) == CLEAN

    await chat.back()
    await chat.open_persona(persona(demo, "离退休党员（未绑定）"))
    told = await chat.say("收到")
    assert "绑定" in told and "没看懂" not in told, told
    await shot(phone, "32-unbound-member-told-how-to-bind")
