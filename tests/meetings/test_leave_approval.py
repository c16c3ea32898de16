"""A member's 请假 reaches the secretary, who answers 批准 or 不批准: 李党员 asks for leave, 王书记 (the
secretary above his branch) is told and approves; 李党员 learns it. With two members on leave the
secretary is asked whose leave is meant; a refused leave does not excuse the member."""

from datetime import datetime, timedelta

from sqlmodel import col, select

from models import AuditEntry, Delivery, Meeting, Organisation
from models.delivery import Purpose
from models.meeting import MeetingKind, attendance_of, create_meetings, plan_meetings
from models.workdays import WorkCalendar
from tests.seed import Roster
from tests.stack import Stack


async def _meeting(stack: Stack, roster: Roster, *, days: int = 3, org: str = "B01",
                   kind: MeetingKind = MeetingKind.party_day) -> int:
    async with stack.sessions() as s:
        where = await s.get(Organisation, roster.orgs[org].id)
        assert where is not None
        starts = (datetime.now(stack.settings.tz) + timedelta(days=days)).replace(hour=19, minute=30, second=0,
                                                                                  microsecond=0)
        plan = await plan_meetings(session=s, kind=kind, org=where, title="主题党日", starts_at=starts, minutes=90,
                                   place="党群服务中心", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def _people(stack: Stack, roster: Roster, meeting_id: int, org: str = "B01") -> dict[str, tuple[str, str | None]]:
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
        where = await s.get(Organisation, roster.orgs[org].id)
        assert meeting is not None and where is not None
        attendance = await attendance_of(session=s, meeting=meeting, org=where, now=datetime.now(stack.settings.tz))
    return {p.name: (p.status, p.leave) for p in attendance.people}


async def test_a_member_asks_for_leave_the_secretary_approves_and_the_member_learns_it(
    stack: Stack, roster: Roster
) -> None:
    wang, li = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster)

    answer = (await li.send_text("请个假 家里有事")).content or ""
    assert answer.endswith("已转给书记审批，结果会发给您。"), answer
    told = await stack.emulator.wait_for_messages("mp", "o_wang", within=5)
    request = next(m.content for m in told if "【请假" in m.content)
    assert request.startswith(f"【请假 · 第{meeting_id}号会议】李党员（阳光社区第一党支部）请假：家里有事")
    assert "请回复“批准”或“不批准 说明”" in request
    assert (await _people(stack, roster, meeting_id))["李党员"] == ("leave", "pending")
    assert "待批准" in ((await wang.send_text("考勤")).content or "")

    # A repeated 请假 (a new reason) is not told twice.
    await li.send_text("请假 家里老人住院")
    assert "李党员（家里老人住院，待批准）" in ((await wang.send_text("考勤")).content or "")

    decided = (await wang.send_text("同意")).content or ""
    assert decided == f"已批准李党员的请假（第 {meeting_id} 号会议）。已通知本人。"
    learnt = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    result = next(m.content for m in learnt if "【请假已批准" in m.content)
    assert result.startswith(f"【请假已批准 · 第{meeting_id}号会议】书记 王书记已批准您的请假。")
    assert (await _people(stack, roster, meeting_id))["李党员"] == ("leave", "approved")
    assert (await wang.send_text("批准")).content == "您目前没有待审批的请假。"
    async with stack.sessions() as s:
        requests = (await s.exec(select(Delivery).where(Delivery.purpose == Purpose.leave_request))).all()
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.leave_approved"))).all()
    assert len({r.subject_id for r in requests}) == 1 and len(audit) == 1  # one leave, told once
    told = await stack.emulator.wait_for_messages("mp", "o_wang", within=0.2)
    assert len([m for m in told if m.content.startswith("【请假 ·")]) == 1
    assert audit[0].detail["person_id"] == roster.people["li"].id and audit[0].actor_person_id == roster.people[
        "wang"].id


async def test_with_two_leaves_waiting_the_secretary_is_asked_whose_and_a_refusal_does_not_excuse(
    stack: Stack, roster: Roster
) -> None:
    wang, li, zhao = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li"), stack.phone("work", "zhaody")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    await zhao.send_text("你好")  # bound from the roster's WeCom account
    meeting_id = await _meeting(stack, roster)
    await li.send_text("请假 出差")
    await zhao.send_text("我请假，单位值班")

    asked = (await wang.send_text("批准")).content or ""
    assert asked.startswith("有几位党员的请假待您审批，请说明是哪一位：")
    assert "李党员（第" in asked and "：出差" in asked and "赵党员（第" in asked and "：单位值班" in asked
    assert asked.endswith("请回复“批准 李党员”、“不批准 李党员 说明”，或“批准 全部”。")

    refused = (await wang.send_text("不批准 赵党员 会议重要，请务必参加")).content or ""
    assert refused.startswith(f"未批准赵党员的请假（第 {meeting_id} 号会议），说明：会议重要，请务必参加。已通知本人。")
    assert "还有待您审批的请假：\n李党员（第" in refused
    learnt = await stack.emulator.wait_for_messages("work", "zhaody", within=5)
    result = next(m.content for m in learnt if "【请假未批准" in m.content)
    assert "说明：会议重要，请务必参加" in result and "请按时参加" in result
    people = await _people(stack, roster, meeting_id)
    assert people["赵党员"] == ("no_reply", "refused")  # not excused
    assert "赵党员（请假未批准）" in ((await wang.send_text("考勤")).content or "")
    again = (await zhao.send_text("请假 真的有事")).content or ""
    assert again.startswith("您的请假未获批准（说明：会议重要，请务必参加）") and f"“参加 {meeting_id}”" in again
    assert (await zhao.send_text("参加")).content.startswith("已记为参加")  # type: ignore[union-attr]
    assert (await _people(stack, roster, meeting_id))["赵党员"] == ("attending", None)

    assert (await wang.send_text("批准 李党员 注意会后补学")).content.startswith(  # type: ignore[union-attr]
        f"已批准李党员的请假（第 {meeting_id} 号会议），说明：注意会后补学。")


async def test_leave_taken_back_by_attending_is_no_longer_waiting_and_others_cannot_approve(
    stack: Stack, roster: Roster
) -> None:
    wang, li, he = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li"), stack.phone("mp", "o_he")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    await he.send_text("绑定 HE2345")
    await _meeting(stack, roster)
    await li.send_text("请假 出差")
    # Another community's secretary was not told of it and has nothing to approve; a member's 批准 is
    # not a command of theirs.
    assert (await he.send_text("批准")).content == "您目前没有待审批的请假。"
    assert ((await li.send_text("批准")).content or "").startswith("没看懂“批准”。")
    await li.send_text("参加")
    assert (await wang.send_text("批准")).content == "您目前没有待审批的请假。"


async def test_a_secretarys_own_leave_goes_to_the_level_above(stack: Stack, roster: Roster) -> None:
    """王书记 is the secretary of 阳光社区; the street has no role holder, so nobody above is found and
    his own leave is only recorded (he does not approve himself)."""
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    meeting_id = await _meeting(stack, roster, org="C01")
    answer = (await wang.send_text("请假 区里开会")).content or ""
    assert answer.endswith("支部书记可在考勤中看到。"), answer
    assert (await wang.send_text("批准")).content == "您目前没有待审批的请假。"
    async with stack.sessions() as s:
        told = (await s.exec(select(col(Delivery.person_id)).where(
            Delivery.purpose == Purpose.leave_request, Delivery.subject_kind == "leave"))).all()
    assert told == [] and meeting_id
