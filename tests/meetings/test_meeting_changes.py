"""改期 and 取消会议: 王书记 moves the branch's 主题党日; 李党员, on leave for it, is told and his leave
stands; the reminders of the old time are dropped and the new time gets its own. Then he calls it off
and everyone invited learns why; a meeting under way can be neither moved nor called off."""

from datetime import datetime, timedelta

from sqlmodel import select

from models import Delivery, Meeting, Organisation
from models.delivery import Purpose
from models.meeting import MeetingKind, MeetingStatus, attendance_of, create_meetings, plan_meetings
from models.meeting_reminders import MOVED_REASON, queue_due_reminders, stale_reminders
from models.workdays import WorkCalendar
from tests.seed import Roster
from tests.stack import Stack


async def _meeting(stack: Stack, roster: Roster, starts: datetime) -> int:
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert branch is not None
        plan = await plan_meetings(session=s, kind=MeetingKind.party_day, org=branch, title="主题党日",
                                   starts_at=starts.replace(second=0, microsecond=0), minutes=60, place="会议室",
                                   work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def test_a_meeting_is_moved_its_replies_kept_and_its_reminders_follow_the_new_time(
    stack: Stack, roster: Roster
) -> None:
    wang, li = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    tz = stack.settings.tz
    now = datetime.now(tz)
    old_start = (now + timedelta(days=2)).replace(hour=19, minute=30)
    meeting_id = await _meeting(stack, roster, old_start)
    await li.send_text("请假 出差")
    async with stack.sessions() as s:  # the reminders of the old time are queued already
        old_eve = datetime.combine(old_start.date() - timedelta(days=1), datetime.min.time(), tz).replace(hour=8)
        assert await queue_due_reminders(session=s, now=old_eve, quiet=None) > 0
        await s.commit()
    new_day = (now + timedelta(days=6)).date()
    asked = f"改期 {meeting_id} {new_day.month}月{new_day.day}日 20:00 党群服务中心"
    moved = (await wang.send_text(asked)).content or ""
    assert moved.startswith(f"已改期：第 {meeting_id} 号会议改为 {new_day.month}月{new_day.day}日（周")
    assert "20:00 主题党日，党群服务中心" in moved and "已通知 2 名参会人员" in moved

    told = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    notice = next(m.content for m in told if "【会议改期" in m.content)
    assert "原定：" in notice and "改为：" in notice and "您之前的回复（参加或请假）仍然有效" in notice
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert meeting is not None and branch is not None
        assert meeting.version == 1 and meeting.place == "党群服务中心"
        people = {p.name: p.status for p in (await attendance_of(session=s, meeting=meeting, org=branch,
                                                                   now=now)).people}
        assert people["李党员"] == "leave"
        old = (await s.exec(select(Delivery).where(Delivery.purpose == Purpose.meeting_reminder,
                                                   Delivery.subject_id == meeting_id))).all()
        assert old and {r.round // 10 for r in old} == {0}
        dropped = await stale_reminders(session=s, rows=list(old), now=now)
        assert {r.id for r in dropped[MOVED_REASON]} == {r.id for r in old}
        # The new time's rounds: version 1.
        eve = datetime.combine(new_day - timedelta(days=1), datetime.min.time(), tz).replace(hour=8)
        assert await queue_due_reminders(session=s, now=eve, quiet=None) > 0
        await s.commit()
        rounds = set((await s.exec(select(Delivery.round).where(Delivery.purpose == Purpose.meeting_reminder,
                                                                Delivery.subject_id == meeting_id))).all())
    assert {11, 12} <= rounds


async def test_a_meeting_is_called_off_and_one_under_way_cannot_be(stack: Stack, roster: Roster) -> None:
    wang, li = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    now = datetime.now(stack.settings.tz)
    meeting_id = await _meeting(stack, roster, now + timedelta(days=3))
    under_way = await _meeting(stack, roster, now - timedelta(minutes=10))
    done = (await wang.send_text(f"取消会议 {meeting_id} 因天气原因")).content or ""
    assert done == f"已取消第 {meeting_id} 号会议，已通知 2 名参会人员；尚未发出的提醒不再发送。"
    told = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    notice = next(m.content for m in told if "【会议取消" in m.content)
    assert notice.startswith(f"【会议取消 · 第{meeting_id}号】阳光社区第一党支部")
    assert notice.endswith("原因：因天气原因")
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
    assert meeting is not None and meeting.status == MeetingStatus.cancelled
    assert (await wang.send_text(f"取消会议 {meeting_id}")).content == f"第 {meeting_id} 号会议已取消。"
    assert (await wang.send_text(f"改期 {under_way} 明天 19:30")).content == (
        f"第 {under_way} 号会议已经开始，不能再改期或取消。")
    assert (await wang.send_text("改期 999 明天 19:30")).content == "没有找到第 999 号会议，或不在您的管理范围内。"
    assert (await wang.send_text("改期 明天")).content.startswith("请回复“改期 编号 新时间”")  # type: ignore[union-attr]
    assert (await li.send_text(f"取消会议 {under_way}")).content == "“改期”和“取消会议”只对书记、副书记和管理员开放。"
