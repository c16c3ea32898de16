"""留言: a resident's message that is no command reaches a person at the community. The sender is told it
was passed on and when to expect an answer; the secretary gets it numbered, answers with `回复 N …`, and
the answer arrives in the resident's chat. `留言` shows the secretary what is still unanswered."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from models import AuditEntry, Delivery, Identity, Inquiry, Membership, Person, PersonKind, Platform, Role, RoleKind
from models.delivery import Purpose
from models.directory import bump_directory_version
from models.workdays import after_workdays
from schedules.inquiries import escalate_inquiries
from tests.seed import Roster
from tests.stack import Stack

LAMP = "小区门口的路灯坏了三天了，晚上很黑，麻烦尽快修一下"
TZ = ZoneInfo("Asia/Shanghai")


async def _resident(stack: Stack, roster: Roster) -> None:
    """张大爷 lives in 阳光社区 and follows the Official Account."""
    async with stack.sessions() as s:
        zhang = Person(name="张大爷", kind=PersonKind.resident)
        s.add(zhang)
        await s.flush()
        s.add(Membership(person_id=zhang.id, org_id=roster.orgs["C01"].id, is_primary=True))  # type: ignore[arg-type]
        s.add(Identity(platform=Platform.mp, app_id=stack.settings.mp_appid, external_id="o_zhangdaye",
                       person_id=zhang.id))
        await bump_directory_version(session=s)
        await s.commit()
    stack.emulator.register_user("mp", "o_zhangdaye")
    for userid in ("wangshuji", "zhaody"):  # 王书记 and 赵党员 use the WeCom app
        stack.emulator.register_user("work", userid)
        await stack.phone("work", userid).send_text("你好")


async def test_a_residents_message_reaches_the_community_and_the_answer_comes_back(
    stack: Stack, roster: Roster
) -> None:
    await _resident(stack, roster)
    resident = stack.phone("mp", "o_zhangdaye")
    wang = stack.phone("work", "wangshuji")

    told = (await resident.send_text(LAMP)).content or ""
    async with stack.sessions() as s:
        [inquiry] = list(await s.exec(select(Inquiry)))
    assert told.startswith(f"您的留言已转给阳光社区（编号 {inquiry.id}）") and "2 个工作日内答复" in told
    [forwarded] = await stack.emulator.wait_for_messages("work", "wangshuji", within=5)
    assert forwarded.content.splitlines() == [f"【留言 第{inquiry.id}号】居民 张大爷（阳光社区）：", LAMP,
                                              f"请回复“回复 {inquiry.id} 答复内容”答复对方。"]
    listed = (await wang.send_text("留言")).content or ""
    assert listed.startswith("未答复的留言 1 条（请在 2 个工作日内答复，超时会上报上级组织）：")
    assert f"第 {inquiry.id} 号 · 张大爷（阳光社区，" in listed

    done = (await wang.send_text(f"回复 {inquiry.id} 路灯已报修，明天修好，谢谢您反映！")).content
    assert done == f"已答复第 {inquiry.id} 号留言，对方会在微信里收到。"
    answers = await stack.emulator.wait_for_messages("mp", "o_zhangdaye", within=5)
    assert answers[-1].content.splitlines()[:2] == [f"【阳光社区答复 · 留言第{inquiry.id}号】",
                                                    "路灯已报修，明天修好，谢谢您反映！"]
    assert (await wang.send_text("留言")).content == "没有未答复的留言。"
    async with stack.sessions() as s:
        actions = [a.action for a in await s.exec(select(AuditEntry)) if a.action.startswith("inquiry.")]
    assert actions == ["inquiry.leave", "inquiry.answer"]


async def test_a_member_leaves_a_message_on_purpose_and_bad_answers_are_explained(
    stack: Stack, roster: Roster
) -> None:
    await _resident(stack, roster)
    zhao = stack.phone("work", "zhaody")  # a member: his free text still gets the help, 留言 is explicit
    assert (await zhao.send_text("你们好")).content == (
        "没看懂“你们好”。回复“帮助”查看可用指令。\n如需向社区反映情况，请回复“留言 内容”。")
    left = (await zhao.send_text("留言：楼道灯也不亮")).content or ""
    assert left.startswith("您的留言已转给") and "编号" in left
    wang = stack.phone("work", "wangshuji")
    assert (await wang.send_text("回复 999 好的")).content == "没有找到第 999 号留言，或不在您的管理范围内。"
    assert (await wang.send_text("回复 路灯")).content.startswith("请回复“回复 编号 答复内容”")
    help_text = (await stack.phone("mp", "o_zhangdaye").send_text("帮助")).content or ""
    assert "直接发送您要反映的事情" in help_text and "完成" not in help_text


def test_two_working_days_skip_the_weekend_and_the_holidays() -> None:
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=TZ)
    assert after_workdays(friday, 2) == datetime(2026, 12, 8, 15, 0, tzinfo=TZ)  # Tuesday, same time
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=TZ)  # taken up on Monday morning
    assert after_workdays(saturday, 2) == datetime(2026, 12, 9, 9, 0, tzinfo=TZ)
    before_national_day = datetime(2025, 9, 30, 11, 0, tzinfo=TZ)  # 1–8 October 2025 off: the 9th and 10th
    assert after_workdays(before_national_day, 2) == datetime(2025, 10, 10, 11, 0, tzinfo=TZ)
    before_a_worked_saturday = datetime(2025, 10, 10, 11, 0, tzinfo=TZ)  # 11 October 2025 (调休) is worked
    assert after_workdays(before_a_worked_saturday, 2) == datetime(2025, 10, 13, 11, 0, tzinfo=TZ)


async def test_a_message_nobody_answers_for_two_working_days_goes_to_the_street(
    stack: Stack, roster: Roster
) -> None:
    """张大爷 writes on Friday afternoon; 阳光社区 does not answer. On Tuesday afternoon the street's
    secretary 刘书记 is told, the 留言 shows as escalated, and his own answer reaches 张大爷."""
    await _resident(stack, roster)
    async with stack.sessions() as s:
        liu = Person(name="刘书记", kind=PersonKind.member, work_userid="liushuji")
        s.add(liu)
        await s.flush()
        s.add(Membership(person_id=liu.id, org_id=roster.orgs["S01"].id, is_primary=True))  # type: ignore[arg-type]
        s.add(Role(person_id=liu.id, org_id=roster.orgs["S01"].id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        await bump_directory_version(session=s)
        await s.commit()
    stack.emulator.register_user("work", "liushuji")
    resident = stack.phone("mp", "o_zhangdaye")
    await resident.send_text(LAMP)
    await resident.send_text("楼下垃圾没人清")
    friday = datetime.combine(date(2026, 12, 4), time(15, 0), tzinfo=TZ)
    async with stack.sessions() as s:
        lamp, rubbish = list(await s.exec(select(Inquiry).order_by(col(Inquiry.id))))
        await s.exec(update(Inquiry).values(received_at=friday.astimezone(UTC)))  # type: ignore[call-overload]
        await s.commit()
    wang = stack.phone("work", "wangshuji")
    await wang.send_text(f"回复 {rubbish.id} 已通知保洁")  # one of the two is answered in time
    run = {"tz": stack.settings.timezone, "quiet_window": stack.settings.quiet_window}

    assert await escalate_inquiries(stack.sessions, **run, now=friday + timedelta(days=3)) == 0  # Monday
    assert await escalate_inquiries(stack.sessions, **run, now=friday + timedelta(days=4, seconds=-1)) == 0
    tuesday = friday + timedelta(days=4)
    assert await escalate_inquiries(stack.sessions, **run, now=tuesday) == 1
    assert await escalate_inquiries(stack.sessions, **run, now=tuesday + timedelta(hours=1)) == 0  # once

    async with stack.sessions() as s:
        [row] = list(await s.exec(select(Delivery).where(col(Delivery.purpose) == Purpose.overdue)))
        escalated = await s.get(Inquiry, lamp.id)
        await s.exec(update(Delivery).where(col(Delivery.id) == row.id)  # type: ignore[call-overload]
                     .values(next_attempt_at=datetime.now(UTC)))
        await s.commit()
    assert escalated is not None and escalated.escalated_to == roster.orgs["S01"].id
    [told] = await stack.emulator.wait_for_messages("work", "liushuji", within=5)
    assert told.content.splitlines() == [
        f"【留言超时】第 {lamp.id} 号留言 2 个工作日未答复：",
        f"居民 张大爷（阳光社区，12月4日 15:00）：{LAMP}",
        f"请督促阳光社区答复，或直接回复“回复 {lamp.id} 答复内容”。",
    ]
    listed = (await wang.send_text("留言")).content or ""
    assert f"【已超时上报】第 {lamp.id} 号 · 张大爷" in listed and f"第 {rubbish.id} 号" not in listed

    liu_phone = stack.phone("work", "liushuji")
    done = (await liu_phone.send_text(f"回复 {lamp.id} 已联系供电所，今天修好")).content or ""
    # His first message: bound from the roster, then the answer.
    assert done.splitlines()[-1] == f"已答复第 {lamp.id} 号留言，对方会在微信里收到。"
    answers = await stack.emulator.wait_for_messages("mp", "o_zhangdaye", within=5, count=2)
    assert answers[-1].content.splitlines()[1] == "已联系供电所，今天修好"
    progress = (await wang.send_text("进度")).content
    assert progress is not None and "未答复的留言" not in progress


async def test_the_secretary_answers_a_message_on_the_inbox_page(stack: Stack, roster: Roster) -> None:
    await _resident(stack, roster)
    await stack.phone("mp", "o_zhangdaye").send_text(LAMP)
    wang = stack.phone("work", "wangshuji")
    progress = (await wang.send_text("进度")).content or ""
    assert progress.endswith("另有未答复的留言 1 条，回复“留言”查看。")
    reply = (await wang.send_text("后台")).content or ""
    link = next(word for word in reply.split() if "/admin/login?t=" in word)
    async with stack.sessions() as s:
        [inquiry] = list(await s.exec(select(Inquiry)))
    async with stack.http(follow_redirects=True) as browser:
        overview = await browser.get(link[link.index("/admin/"):].rstrip("。"))
        assert "留言（未答复 1）" in overview.text
        inbox = await browser.get("/admin/inquiries")
        assert inbox.status_code == 200 and "未答复 1 条" in inbox.text and LAMP in inbox.text
        assert f'action="/admin/inquiries/{inquiry.id}/answer"' in inbox.text

        empty = await browser.post(f"/admin/inquiries/{inquiry.id}/answer", data={"text": "  "})
        assert empty.status_code == 400 and "不能为空" in empty.text
        missing = await browser.post("/admin/inquiries/999/answer", data={"text": "好的"})
        assert missing.status_code == 404
        forged = await browser.post(f"/admin/inquiries/{inquiry.id}/answer", data={"text": "好的"},
                                    headers={"Sec-Fetch-Site": "cross-site"})
        assert forged.status_code == 403

        answered = await browser.post(f"/admin/inquiries/{inquiry.id}/answer", data={"text": "已报修，明天修好"})
        assert answered.status_code == 200 and "已答复，对方会在微信里收到。" in answered.text
        assert "未答复 0 条" in answered.text and "已报修，明天修好" in answered.text
    [answer] = await stack.emulator.wait_for_messages("mp", "o_zhangdaye", within=5)
    assert answer.content.splitlines()[1] == "已报修，明天修好"
    assert (await wang.send_text("留言")).content == "没有未答复的留言。"


async def test_a_neighbours_messages_are_not_in_the_inbox(stack: Stack, roster: Roster) -> None:
    await _resident(stack, roster)
    await stack.phone("mp", "o_zhangdaye").send_text(LAMP)
    stack.emulator.register_user("mp", "o_he")
    async with stack.sessions() as s:
        [inquiry] = list(await s.exec(select(Inquiry)))
    he = stack.phone("mp", "o_he")  # 和平社区's secretary, next door
    await he.send_text("绑定 HE2345")
    reply = (await he.send_text("后台")).content or ""
    link = next(word for word in reply.split() if "/admin/login?t=" in word)
    async with stack.http(follow_redirects=True) as browser:
        await browser.get(link[link.index("/admin/"):].rstrip("。"))
        inbox = await browser.get("/admin/inquiries")
        assert inbox.status_code == 200 and LAMP not in inbox.text and "还没有留言" in inbox.text
        refused = await browser.post(f"/admin/inquiries/{inquiry.id}/answer", data={"text": "好的"})
        assert refused.status_code == 404


async def test_thanks_and_emoji_are_answered_without_bothering_the_secretary(stack: Stack, roster: Roster) -> None:
    await _resident(stack, roster)
    resident = stack.phone("mp", "o_zhangdaye")
    for text in ("谢谢！", "好的", "😊", "👍👍", "在吗？"):
        reply = (await resident.send_text(text)).content or ""
        assert reply.startswith("您好！有事需要社区帮忙，直接写下来发给我"), (text, reply)
    assert "已转给阳光社区" in ((await resident.send_text("😊 明天几点开会？")).content or "")
    async with stack.sessions() as s:
        assert [i.text for i in await s.exec(select(Inquiry))] == ["😊 明天几点开会？"]
