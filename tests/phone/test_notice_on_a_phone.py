"""A community's day seen on a phone: the secretary writes a notice in everyday words in the chat box,
a member gets it framed (who sends it, the number, how to answer) and answers 收到, and the
secretary's 进度 and progress page show the confirmation."""

import re

from playwright.async_api import Page, expect

from bot.demo.stack import DemoStack
from models.notice_send import MAX_TEXT
from tests.phone.browser import Chat, audit, shot

CLEAN = {"small": [], "faint": []}
MEETING = "本周六上午九点在社区活动室开党员大会，请准时参加"


def persona(demo: DemoStack, role: str) -> str:
    return next(p.id for p in demo.personas if p.role == role)


async def test_a_secretary_sends_a_notice_in_words_and_a_member_confirms_it(
    phone: Page, demo_by_day: DemoStack
) -> None:
    demo = demo_by_day
    await phone.goto(demo.base_url)
    chat = Chat(phone)
    await expect(phone.locator("button.card").first).to_be_visible()
    await shot(phone, "01-picker")
    assert await audit(phone) == CLEAN

    await chat.open_persona(persona(demo, "阳光社区书记"))
    # The box takes a whole notice and says how much room is left.
    assert await phone.locator("#text").get_attribute("maxlength") == str(MAX_TEXT)
    await expect(phone.locator("#count")).to_have_text(f"0/{MAX_TEXT} 字")
    await phone.locator("#text").fill("你好")
    await phone.locator("#text").dispatch_event("input")
    await expect(phone.locator("#count")).to_have_text(f"2/{MAX_TEXT} 字")

    orgs = await chat.say("发通知")
    assert "1. 阳光社区（社区，含下级，" in orgs and "下一级" in orgs
    assert "发给哪些人" in await chat.say("阳光社区")
    assert "请输入通知内容" in await chat.say("党员和书记")
    assert "紧急程度" in await chat.say(MEETING)
    assert "收到" in await chat.say("不急")
    assert "截止" in await chat.say("要")
    await shot(phone, "02-secretary-answers-in-words")
    preview = await chat.say("不是任务")
    assert "阳光社区" in preview and MEETING in preview and "确认" in preview
    await shot(phone, "03-secretary-preview")
    sent = await chat.say("好的，发吧")
    number = re.search(r"编号 (\d+)", sent)
    assert number and "正在发送" in sent, sent
    await shot(phone, "04-secretary-sent")
    assert await audit(phone) == CLEAN

    await chat.back()
    await chat.open_persona(persona(demo, "离退休党员"))  # 郭海燕, of 阳光社区第一党支部
    notice = await chat.wait_for_bot("本周六上午九点")
    text = await notice.inner_text()
    assert "胡文博" in text and "收到" in text, text
    await shot(phone, "05-member-gets-the-notice")
    async with phone.context.expect_page() as opened:
        await notice.locator(".tcard a", has_text="详情").tap()
    page = await opened.value
    await expect(page.locator("main")).to_contain_text(MEETING)
    await shot(page, "05b-notice-page")
    assert await audit(page) == CLEAN
    await page.close()
    assert f"第 {number[1]} 号通知" in await chat.say("收到了")
    await shot(phone, "06-member-confirms")
    assert await audit(phone) == CLEAN

    await chat.back()
    await chat.open_persona(persona(demo, "阳光社区书记"))
    progress = await chat.say(f"进度 {number[1]}")
    assert "已确认收到 1" in progress, progress
    link = phone.locator("#messages .bubble a").last
    async with phone.context.expect_page() as opened:
        await link.tap()
    page = await opened.value
    await expect(page.locator("header")).to_contain_text(f"第 {number[1]} 号")
    assert "已确认" in await page.locator("main").inner_text()
    await shot(page, "07-progress-page")
    assert await audit(page) == CLEAN
