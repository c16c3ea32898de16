"""A secretary composes a notice in the chat, one short question at a time, and confirms it."""

from datetime import timedelta

from sqlmodel import col, func, select

from models import AuditEntry, Conversation, Delivery, Notice, NoticeStatus, Person, PersonKind, Role, RoleKind
from models.directory import bump_directory_version
from tests.conftest import running_stack
from tests.framing import bodies
from tests.seed import Roster
from tests.stack import Stack


async def _count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_a_secretary_sends_a_notice_to_the_members_of_the_community(stack: Stack, roster: Roster) -> None:
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content
    wang = stack.phone("work", "wangshuji")

    orgs = (await wang.send_text("发通知")).content
    # One level at a time, with the people each choice reaches and whether it includes the levels below.
    assert "1. 阳光社区（社区，含下级，3 人）" in orgs and "2. 阳光社区第一党支部（党支部，2 人）" in orgs
    assert "和平社区" not in orgs and "朝阳街道" not in orgs  # only the secretary's own subtree
    assert "党员" in (await wang.send_text("1")).content
    assert "通知内容" in (await wang.send_text("1")).content
    assert "紧急程度" in (await wang.send_text("周六上午九点在社区活动室开支部党员大会")).content
    assert "收到" in (await wang.send_text("1")).content
    assert "截止时间" in (await wang.send_text("是")).content
    preview = (await wang.send_text("无")).content

    # 赵党员 has never opened the WeCom app, but the roster names his account: WeCom reaches him.
    assert "共 3 人，可送达 3 人" in preview
    assert "· 企业微信应用消息：2 人" in preview and "· 48小时内互动过：公众号客服消息：1 人" in preview
    assert "无法送达" not in preview
    assert "回复“确认”发送，“取消”放弃" in preview

    done = (await wang.send_text("确认")).content

    async with stack.sessions() as s:
        notice = (await s.exec(select(Notice))).one()
        rows = list(await s.exec(select(Delivery).where(Delivery.subject_id == notice.id)))
    assert done.splitlines()[0] == f"已确认，正在发送给 3 人（编号 {notice.id}）"
    assert notice.status == NoticeStatus.confirmed and notice.confirmed_at is not None
    assert notice.text == "周六上午九点在社区活动室开支部党员大会" and notice.deadline is None
    people = sorted(r.person_id for r in rows)
    assert people == sorted(roster.people[p].id for p in ("wang", "li", "zhao"))  # one row each
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.confirm") == 1
    assert await _count(stack, Conversation) == 0


async def test_notice_with_its_text_skips_the_text_question(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    first = (await wang.send_text("通知：明天停水，请做好准备")).content
    assert "明天停水" in first and "发给哪些组织" in first
    await wang.send_text("全部")
    assert "紧急程度" in (await wang.send_text("好")).content  # default 党员, then straight to urgency
    await wang.send_text("2")
    await wang.send_text("否")
    preview = (await wang.send_text("3天后")).content
    assert "明天停水" in preview and "紧急" in preview


async def test_cancel_at_any_step_and_nonsense_repeats_the_question(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await wang.send_text("发通知")
    again = (await wang.send_text("随便")).content
    assert "没看懂" in again and "发给哪些组织" in again
    assert "没看懂" in (await wang.send_text("9")).content  # not on the list
    await wang.send_text("1")
    assert "发给哪些人" in (await wang.send_text("大家")).content
    assert "已取消" in (await wang.send_text("取消")).content
    assert await _count(stack, Conversation) == 0
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.cancel") == 1
    assert "没看懂" in (await wang.send_text("1")).content  # no conversation: the usual fallback

    await wang.send_text("通知 测试")
    for answer in ("1", "1", "1", "否", "无"):
        await wang.send_text(answer)
    assert "没看懂" in (await wang.send_text("好吧")).content
    assert "已取消" in (await wang.send_text("取消")).content
    async with stack.sessions() as s:
        notice = (await s.exec(select(Notice))).one()
    assert notice.status == NoticeStatus.cancelled
    assert await _count(stack, Delivery) == 0


async def test_help_still_works_during_a_conversation(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await wang.send_text("发通知")
    assert "发通知" in (await wang.send_text("帮助")).content
    assert "发给哪些人" in (await wang.send_text("1")).content


async def test_a_member_may_not_send_notices(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    reply = (await li.send_text("发通知")).content
    assert "只有书记、副书记和管理员可以发通知" in reply
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.refused") == 1
    assert await _count(stack, Conversation) == 0


async def test_the_conversation_survives_a_restart(stack: Stack, roster: Roster) -> None:
    await stack.phone("work", "wangshuji").send_text("发通知")
    await stack.phone("work", "wangshuji").send_text("1")
    async with running_stack(stack.settings.database_url) as other:
        wang = other.phone("work", "wangshuji")
        assert "通知内容" in (await wang.send_text("4")).content  # 书记
        await wang.send_text("请各位书记明早开会")
        await wang.send_text("1")
        await wang.send_text("是")
        preview = (await wang.send_text("无")).content
        assert "共 1 人" in preview
        assert "正在发送给 1 人" in (await wang.send_text("确认")).content
    assert await _count(stack, Delivery, col(Delivery.person_id) == roster.people["wang"].id) == 1


async def test_a_past_deadline_is_refused(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    for answer in ("通知 交材料", "1", "1", "1", "是"):
        await wang.send_text(answer)
    past = (await wang.send_text("2020-01-01")).content
    assert "已经过去" in past and "截止时间" in past
    preview = (await wang.send_text("2099-12-01")).content
    assert "截止时间：12月1日（周二）17:30" in preview  # a day alone: the end of that working day


async def test_an_idle_conversation_expires_with_a_note(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await wang.send_text("发通知")
    async with stack.sessions() as s:
        conv = (await s.exec(select(Conversation))).one()
        conv.updated_at = conv.updated_at - timedelta(minutes=31)
        s.add(conv)
        await s.commit()
    reply = (await wang.send_text("1")).content
    assert "超过30分钟未操作" in reply and "没看懂" in reply  # the "1" itself is answered as usual
    assert await _count(stack, Conversation) == 0


async def test_a_sentence_that_merely_begins_with_tongzhi_does_not_start_a_notice(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("work", "wangshuji")
    assert "发给哪些组织" not in (await phone.send_text("通知收到了")).content
    assert "发给哪些组织" in (await phone.send_text("通知：周五开会")).content


async def test_an_urgent_notice_confirmed_in_the_chat_reaches_the_members_phones(stack: Stack, roster: Roster) -> None:
    await stack.phone("mp", "o_li").send_text("绑定 LI2345")  # 李党员 on the Official Account, window open
    await stack.phone("work", "zhaody").send_text("你好")  # 赵党员 on WeCom
    wang = stack.phone("work", "wangshuji")
    for answer in ("通知：今晚防汛值班，请党员19点到社区集合", "1", "好", "2", "是", "无"):
        await wang.send_text(answer)
    assert "已确认" in (await wang.send_text("确认")).content

    text = "今晚防汛值班，请党员19点到社区集合"
    on_wecom = await stack.emulator.wait_for_messages("work", "zhaody", within=5)
    on_mp = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    assert bodies(on_wecom) == [text]
    assert bodies(on_mp) == [text]


async def test_a_secretary_answers_every_question_in_words(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    await wang.send_text("发通知")

    assert "发给哪些人" in (await wang.send_text("阳光社区")).content
    assert "通知内容" in (await wang.send_text("党员和书记")).content
    await wang.send_text("请各位党员本周五前完成“灯塔在线”学习")
    await wang.send_text("普通")
    assert "截止时间" in (await wang.send_text("是的")).content
    preview = (await wang.send_text("下周五")).content  # 本周五 is past on a Saturday
    assert "请核对通知" in preview and "党员、书记" in preview
    done = (await wang.send_text("好的，发吧")).content

    assert done.startswith("已确认")
    async with stack.sessions() as s:
        notice = (await s.exec(select(Notice))).one()
    assert notice.audience["who"] == ["党员", "书记"] and notice.deadline is not None
    assert notice.deadline.astimezone(stack.settings.tz).weekday() == 4  # that Friday, by the end of the day


async def test_a_secretary_who_changes_his_mind_in_words_sends_nothing(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    for answer in ("发通知", "1", "好", "明天停水", "1", "不用", "不是任务"):
        await wang.send_text(answer)
    assert (await wang.send_text("算了，不发了")).content == "已取消，本条通知不会发送。"
    assert await _count(stack, Delivery) == 0


async def test_a_district_secretary_goes_down_a_level_to_choose_one_community(stack: Stack, roster: Roster) -> None:
    async with stack.sessions() as s:  # 张书记 leads the district
        zhang = Person(name="张书记", kind=PersonKind.member, work_userid="zhangshuji")
        s.add(zhang)
        await s.flush()
        s.add(Role(person_id=zhang.id, org_id=roster.orgs["D01"].id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        await bump_directory_version(session=s)
        await s.commit()
    phone = stack.phone("work", "zhangshuji")

    top = (await phone.send_text("发通知")).content
    assert "1. 示范区（区，含下级，4 人）\n2. 朝阳街道（街道，含下级，4 人）\n" in top
    assert "阳光社区" not in top  # one level at a time
    street = (await phone.send_text("下一级 2")).content
    assert "1. 朝阳街道（街道，含下级，4 人）" in street and "2. 阳光社区（社区，含下级，3 人）" in street
    assert "3. 和平社区（社区，1 人）" in street
    assert "回复“上一级”回到上一层" in street
    assert "1. 示范区" in (await phone.send_text("上一级")).content
    await phone.send_text("下一级 朝阳街道")
    assert "发给哪些人" in (await phone.send_text("阳光社区")).content  # a name from the list chosen
    async with stack.sessions() as s:
        conv = await s.get(Conversation, zhang.id)
        assert conv is not None and conv.data["orgs"] == [roster.orgs["C01"].id]
