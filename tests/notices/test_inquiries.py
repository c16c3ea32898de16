"""留言: a resident's message that is no command reaches a person at the community. The sender is told it
was passed on and when to expect an answer; the secretary gets it numbered, answers with `回复 N …`, and
the answer arrives in the resident's chat. `留言` shows the secretary what is still unanswered."""

from sqlmodel import select

from models import AuditEntry, Identity, Inquiry, Membership, Person, PersonKind, Platform
from models.directory import bump_directory_version
from tests.seed import Roster
from tests.stack import Stack

LAMP = "小区门口的路灯坏了三天了，晚上很黑，麻烦尽快修一下"


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
    assert listed.startswith("未答复的留言 1 条：") and f"第 {inquiry.id} 号 · 张大爷（阳光社区，" in listed

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
