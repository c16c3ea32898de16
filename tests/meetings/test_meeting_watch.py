"""The daily look at organisational life: five working days before December ends, 王书记 is reminded of
what the branch still has to hold this month, quarter and year; the branch, which never recorded a
meeting, is flagged as 静默; 赵党员, absent without leave from three held meetings in a row and not at
one for over three months, is reported to 王书记 — 李党员, who took leave once and came last time, is
not. Each finding is sent once, however often the look runs."""

from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Delivery, Organisation
from models.delivery import Purpose
from models.engagement import EngagementKind, record
from models.meeting import MeetingKind, attendance_of, create_meetings, plan_meetings
from models.meeting_dates import HolidayPolicy
from models.meeting_record import MeetingRecord, record_held
from models.meeting_watch import remind_from
from models.obligations import DEFAULT_OBLIGATIONS
from models.subject import Subject, SubjectKind
from models.workdays import WorkCalendar
from schedules.meeting_watch import watch_meetings
from tests.seed import Roster
from tests.stack import Stack


def test_five_working_days_before_the_end_of_december() -> None:
    calendar = WorkCalendar()
    assert remind_from(date(2027, 1, 1), calendar) == date(2026, 12, 25)  # 31, 30, 29, 28, 25 (a weekend between)
    assert remind_from(date(2026, 11, 1), calendar) == date(2026, 10, 26)  # October ends on a Saturday


async def _rows(stack: Stack, purpose: Purpose) -> list[Delivery]:
    async with stack.sessions() as s:
        return list((await s.exec(select(Delivery).where(Delivery.purpose == purpose)
                                  .order_by(col(Delivery.id)))).all())


async def _watch(stack: Stack, now: datetime) -> dict[str, int]:
    return await watch_meetings(stack.sessions, tz=stack.settings.tz, quiet_window=None,
                                obligations=DEFAULT_OBLIGATIONS, now=now)


async def test_period_end_reminders_name_what_is_still_to_hold_once(stack: Stack, roster: Roster) -> None:
    await stack.phone("mp", "o_wang").send_text("绑定 WANG23")
    tz = stack.settings.tz
    assert (await _watch(stack, datetime(2026, 12, 10, 10, tzinfo=tz)))["period_gaps"] == 0  # not yet
    assert (await _watch(stack, datetime(2026, 12, 28, 10, tzinfo=tz)))["period_gaps"] == 3
    assert (await _watch(stack, datetime(2026, 12, 29, 10, tzinfo=tz)))["period_gaps"] == 0  # once a period
    rows = await _rows(stack, Purpose.period_gap)
    assert {r.person_id for r in rows} == {roster.people["wang"].id}
    assert {(r.subject_kind, r.subject_id) for r in rows} == {("organisation", roster.orgs["B01"].id)}
    month = next(r.body or "" for r in rows if "2026年12月" in (r.body or ""))
    assert month.startswith("【三会一课提醒】阳光社区第一党支部2026年12月还需召开：支委会（0/1）、主题党日（0/1）。")
    assert "本期到 12月31日 结束" in month
    assert any("2026年第4季度还需召开：支部党员大会（0/1）、党课（0/1）" in (r.body or "") for r in rows)
    assert any("2026年还需召开：组织生活会（0/1）、民主评议党员（0/1）" in (r.body or "") for r in rows)


async def _held(s: AsyncSession, roster: Roster, starts: datetime) -> int:
    branch = await s.get(Organisation, roster.orgs["B01"].id)
    assert branch is not None
    plan = await plan_meetings(session=s, kind=MeetingKind.party_day, org=branch, title="主题党日", starts_at=starts,
                               minutes=60, place="", policy=HolidayPolicy.keep, work_calendar=WorkCalendar())
    meeting = (await create_meetings(session=s, plan=plan, author_person_id=None))[0]
    attendance = await attendance_of(session=s, meeting=meeting, org=branch, now=starts + timedelta(hours=2))
    result = await record_held(session=s, meeting=meeting, attendance=attendance, host="王书记", recorder="王书记",
                               minutes="学习", by=None, actor="test", now=starts + timedelta(hours=2))
    assert isinstance(result, MeetingRecord) and meeting.id is not None
    return meeting.id


async def test_a_silent_branch_and_a_member_who_keeps_missing_are_reported_once(stack: Stack, roster: Roster) -> None:
    await stack.phone("mp", "o_wang").send_text("绑定 WANG23")
    now = datetime.now(stack.settings.tz).replace(microsecond=0)
    li, zhao = roster.people["li"].id, roster.people["zhao"].id
    assert li is not None and zhao is not None

    found = await _watch(stack, now)
    assert found["silent_branches"] == 1 and found["member_warnings"] == 0
    [silent] = await _rows(stack, Purpose.silent_branch)
    assert silent.body == ("【静默支部提醒】阳光社区第一党支部还没有记录过已召开的会议。"
                           "请尽快组织开展组织生活，会后回复“已召开 编号 纪要 …”记录。")

    async with stack.sessions() as s:
        meetings = [await _held(s, roster, now - timedelta(days=days)) for days in (100, 60, 40)]
        await record(s, Subject(SubjectKind.meeting, meetings[0]), li, EngagementKind.leave, "出差")
        await record(s, Subject(SubjectKind.meeting, meetings[2]), li, EngagementKind.signed_in)
        await s.commit()
    found = await _watch(stack, now)
    assert found["silent_branches"] == 1  # a new spell: the last meeting was 40 days ago
    assert found["member_warnings"] == 2  # 赵党员: three in a row, and three months without
    warnings = await _rows(stack, Purpose.member_missed) + await _rows(stack, Purpose.member_inactive)
    wang = roster.people["wang"].id
    assert {(w.subject_kind, w.subject_id, w.person_id) for w in warnings} == {("person", zhao, wang)}
    texts = sorted(w.body or "" for w in warnings)
    assert texts[0].startswith("【组织生活预警】党员 赵党员 已超过 3 个月未参加组织生活（近期没有参加记录）。")
    assert texts[1] == (f"【缺席提醒】党员 赵党员 已连续 3 次未请假缺席组织生活（最近一次：第 {meetings[2]} 号会议）。"
                        "请及时谈心谈话，了解情况。")
    again = await _watch(stack, now + timedelta(hours=1))
    assert again == {"period_gaps": again["period_gaps"], "silent_branches": 0, "member_warnings": 0}
    silent_bodies = [r.body or "" for r in await _rows(stack, Purpose.silent_branch)]
    assert "已 40 天没有召开会议" in silent_bodies[-1]
