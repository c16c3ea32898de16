"""The demo district's meetings: a monthly 主题党日 on the 15th for each community branch, monthly 党小组会
for the groups of 第一党支部 (and one in three days), last month's held meetings with gaps for 合规, and a
党课 starting within half an hour, whose reminder the members get at once (outside
quiet hours): a visitor can answer 参加 / 请假 as a member, sign in with 扫会场签到码 or the code of
签到码, and read 考勤 / 批准 a leave as the secretary."""

from datetime import datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.meeting import KIND_NAMES, MeetingKind, attendance_of, create_meetings, plan_meetings
from models.meeting_dates import Every, HolidayPolicy, Repeat
from models.meeting_record import record_held
from models.meeting_reminders import queue_due_reminders
from models.official_days import load_official_days
from models.organisation import Organisation, OrgLevel, get_org_by_code
from models.workdays import WorkCalendar

PARTY_DAY_BRANCHES = ("C01B1", "C01B2", "C02B1", "C03B1")


# Last month's record, so that 合规 has something to show: 第一党支部 held its 主题党日 and 支委会 and its
# first group met; 第二党支部 held only its 主题党日, and the second group did not meet at all.
PAST_HELD = (("C01B1", MeetingKind.party_day, 15), ("C01B1", MeetingKind.committee, 8),
             ("C01B1G1", MeetingKind.group, 20), ("C01B2", MeetingKind.party_day, 15))


async def _past_meetings(*, session: AsyncSession, now: datetime) -> None:
    last = (now.replace(day=1) - timedelta(days=1))
    for code, kind, day in PAST_HELD:
        org = await get_org_by_code(session=session, code=code)
        if org is None:
            continue
        host = org.parent_id if org.level == OrgLevel.group else org.id
        organiser = await session.get(Organisation, host) if host is not None else org
        assert organiser is not None
        starts = last.replace(day=day, hour=19, minute=30, second=0, microsecond=0)
        plan = await plan_meetings(session=session, kind=kind, org=organiser, group=org if kind == MeetingKind.group
                                   else None, title=KIND_NAMES[kind], starts_at=starts, minutes=90,
                                   place="社区党群服务中心", topic="学习贯彻上级会议精神", policy=HolidayPolicy.keep,
                                   work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=session, plan=plan, author_person_id=None))[0]
        attendance = await attendance_of(session=session, meeting=meeting, org=organiser, now=starts)
        await record_held(session=session, meeting=meeting, attendance=attendance, host="书记", recorder="组织委员",
                          minutes="传达学习上级会议精神，讨论本月工作安排。", by=None, actor="demo",
                          now=starts + timedelta(hours=2))


async def seed_demo_meetings(*, session: AsyncSession, now: datetime, quiet: tuple[time, time] | None) -> int:
    """The meetings, and the reminders already due; returns the number of meetings. Not committed."""
    calendar = WorkCalendar(await load_official_days(session=session))
    count = 0

    async def add(code: str, kind: MeetingKind, title: str, starts: datetime, minutes: int, place: str,
                  topic: str = "", repeat: Repeat | None = None) -> None:
        nonlocal count
        org = await get_org_by_code(session=session, code=code)
        if org is None:
            return
        plan = await plan_meetings(session=session, kind=kind, org=org, title=title, starts_at=starts,
                                   minutes=minutes, place=place, topic=topic, repeat=repeat, work_calendar=calendar)
        count += len(await create_meetings(session=session, plan=plan, author_person_id=None))

    fifteenth = now.replace(day=15, hour=19, minute=30, second=0, microsecond=0)
    if fifteenth <= now:
        fifteenth = (fifteenth.replace(day=1) + timedelta(days=32)).replace(day=15)
    for code in PARTY_DAY_BRANCHES:
        await add(code, MeetingKind.party_day, "主题党日", fifteenth, 120, "社区党群服务中心",
                  "志愿服务进小区", Repeat(Every.month, day=15, until=(fifteenth + timedelta(days=180)).date()))
    in_three_days = (now + timedelta(days=3)).replace(hour=19, minute=30, second=0, microsecond=0)
    await add("C01B1G1", MeetingKind.group, "党小组学习", in_three_days, 60, "阳光社区活动室", "学习新修订的党章")
    # Each of the branch's groups meets monthly, on the 20th.
    twentieth = now.replace(day=20, hour=19, minute=0, second=0, microsecond=0)
    if twentieth <= now:
        twentieth = (twentieth.replace(day=1) + timedelta(days=32)).replace(day=20)
    for group in ("C01B1G1", "C01B1G2"):
        await add(group, MeetingKind.group, "党小组会", twentieth, 60, "阳光社区活动室", "学习讨论",
                  Repeat(Every.month, day=20, until=(twentieth + timedelta(days=150)).date()))
    await _past_meetings(session=session, now=now)
    # Within half an hour: sign-in (open from 30 minutes before) can be tried as soon as the demo runs.
    soon = (now + timedelta(minutes=25)).replace(second=0, microsecond=0)
    soon = soon.replace(minute=soon.minute - soon.minute % 5)
    await add("C01B1", MeetingKind.lecture, "书记讲党课", soon, 60, "阳光社区党群服务中心", "基层治理中的党员作用")
    await queue_due_reminders(session=session, now=now, quiet=quiet)
    return count
