"""Members answer a meeting from their phones: 李党员 replies 请个假 家里有事 and the attendance shows
the leave with its reason; he changes his mind with 参加！; with two meetings open he is asked which
and answers 参加 N; a member not invited, or one with nothing open, is told so."""

from datetime import datetime, timedelta

from sqlmodel import select

from models import AuditEntry, Meeting, Organisation
from models.meeting import MeetingKind, attendance_of, create_meetings, plan_meetings
from models.workdays import WorkCalendar
from tests.seed import Roster
from tests.stack import Stack


async def _meeting(stack: Stack, roster: Roster, *, kind: MeetingKind = MeetingKind.party_day, days: int = 3,
                   title: str = "主题党日") -> int:
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert branch is not None
        starts = (datetime.now(stack.settings.tz) + timedelta(days=days)).replace(hour=19, minute=30, second=0,
                                                                                  microsecond=0)
        plan = await plan_meetings(session=s, kind=kind, org=branch, title=title, starts_at=starts, minutes=90,
                                   place="党群服务中心", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def _states(stack: Stack, roster: Roster, meeting_id: int) -> dict[str, tuple[str, str | None]]:
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
        org = await s.get(Organisation, roster.orgs["B01"].id)
        assert meeting is not None and org is not None
        attendance = await attendance_of(session=s, meeting=meeting, org=org, now=datetime.now(stack.settings.tz))
    return {p.name: (p.status, p.reason) for p in attendance.people}


async def test_a_member_asks_for_leave_and_the_attendance_shows_it_then_he_attends(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in ((await li.send_text("绑定 LI2345")).content or "")
    meeting_id = await _meeting(stack, roster)

    answer = (await li.send_text("请个假 家里有事")).content or ""
    assert answer.startswith(f"已为您登记请假，理由：家里有事：第 {meeting_id} 号：")
    assert "主题党日，党群服务中心" in answer
    assert (await _states(stack, roster, meeting_id))["李党员"] == ("leave", "家里有事")

    assert (await li.send_text("参加！")).content.startswith(f"已记为参加：第 {meeting_id} 号：")  # type: ignore[union-attr]
    states = await _states(stack, roster, meeting_id)
    assert states["李党员"] == ("attending", None) and states["赵党员"] == ("no_reply", None)

    answer = (await li.send_text("我请假，出差")).content or ""
    assert "理由：出差" in answer
    async with stack.sessions() as s:
        actions = [a.action for a in (await s.exec(select(AuditEntry).where(
            AuditEntry.action.startswith("meeting.")).order_by(AuditEntry.id))).all()]  # type: ignore[attr-defined]
    assert actions == ["meeting.leave", "meeting.attending", "meeting.leave"]


async def test_with_two_meetings_open_the_member_is_asked_which_and_answers_with_its_number(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    first = await _meeting(stack, roster, days=2)
    second = await _meeting(stack, roster, kind=MeetingKind.lecture, days=5, title="党课")
    asked = (await li.send_text("参加")).content or ""
    assert asked.startswith("您有几个会议需要回复，请说明是哪一个：")
    assert f"第 {first} 号：" in asked and f"第 {second} 号：" in asked and asked.endswith("请回复“参加 编号”。")
    assert (await li.send_text(f"参加 {second}")).content.startswith(f"已记为参加：第 {second} 号：")  # type: ignore[union-attr]
    answer = (await li.send_text(f"请假 {first} 单位值班")).content or ""
    assert answer.startswith(f"已为您登记请假，理由：单位值班：第 {first} 号：")
    assert (await _states(stack, roster, first))["李党员"] == ("leave", "单位值班")
    assert (await _states(stack, roster, second))["李党员"] == ("attending", None)
    wrong = (await li.send_text("参加 999")).content or ""
    assert wrong.startswith("没有找到您需要回复的第 999 号会议。") and f"第 {first} 号：" in wrong


async def test_a_leave_without_a_reason_is_taken_and_the_reason_asked_for_kindly(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    await _meeting(stack, roster)
    answer = (await li.send_text("请假")).content or ""
    assert answer.startswith("已为您登记请假：") and answer.endswith("如方便，可回复“请假 理由”补充说明。")


async def test_nothing_open_and_not_bound_get_a_clear_answer(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    assert (await li.send_text("参加")).content == "您近期没有需要回复的会议。"
    await _meeting(stack, roster)
    # 王书记 belongs to 阳光社区, not to the branch: the branch's 主题党日 is not his to answer.
    assert (await stack.phone("work", "wangshuji").send_text("参加")).content.endswith("您近期没有需要回复的会议。")  # type: ignore[union-attr]
    stranger = (await stack.phone("mp", "o_stranger").send_text("请假 生病")).content or ""
    assert "绑定" in stranger


async def test_the_secretary_reads_the_attendance_list_in_the_chat(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster)
    await li.send_text("请个假 家里有事")
    wang = stack.phone("work", "wangshuji")
    shown = (await wang.send_text("考勤")).content or ""
    lines = shown.split("\n")
    assert lines[-5].startswith(f"第 {meeting_id} 号：") and lines[-5].endswith("（阳光社区第一党支部）")
    assert lines[-4:-1] == ["应到 2：参加 0，请假 1，已签到 0，未回复 1，缺席 0", "请假：李党员（家里有事，待批准）",
                            "未回复：赵党员"]
    assert lines[-1].startswith("完整名单：http") and "/m/attendance/" in lines[-1]
    assert ((await wang.send_text(f"考勤 {meeting_id}")).content or "").startswith("\n".join(lines[-5:-1]))
    assert (await wang.send_text("考勤 999")).content == "没有找到第 999 号会议，或不在您的管理范围内。"
    # 何书记 of 和平社区 does not see 阳光社区's meetings; a member is told it is for secretaries.
    await stack.phone("mp", "o_he").send_text("绑定 HE2345")
    assert (await stack.phone("mp", "o_he").send_text(f"考勤 {meeting_id}")).content == (
        f"没有找到第 {meeting_id} 号会议，或不在您的管理范围内。")
    assert (await li.send_text("考勤")).content == "“考勤”只对书记、副书记和管理员开放。"


async def test_the_attendance_page_lists_everyone_under_their_state(stack: Stack, roster: Roster) -> None:
    """王书记 opens the link at the end of 考勤: 李党员 under 请假 with his reason, 赵党员 under 未回复."""
    wang, li = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster)
    await li.send_text("请假 出差")
    listing = (await wang.send_text(f"考勤 {meeting_id}")).content or ""
    link = listing.split("完整名单：")[1].strip()
    async with stack.http() as http:
        shown = await http.get(link.removeprefix(stack.base_url))
        forged = await http.get(link.removeprefix(stack.base_url)[:-3] + "abc")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    html = shown.text
    assert f"第 {meeting_id} 号会议 · 考勤" in html and "<strong>2</strong>应到" in html
    assert "<strong>请假（1）</strong><ul><li>李党员" in html and "出差，待批准" in html
    assert "<strong>未回复（1）</strong><ul><li>赵党员</li>" in html
    assert forged.status_code == 403
