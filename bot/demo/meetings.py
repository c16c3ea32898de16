"""The demo district's meetings: a monthly 主题党日 on the 15th for each community branch, a 党小组会 in
three days, and a 党课 starting within half an hour, whose reminder the members get at once (outside
quiet hours): a visitor can answer 参加 / 请假 as a member, sign in with 扫会场签到码 or the code of
签到码, and read 考勤 / 批准 a leave as the secretary."""

from datetime import datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.meeting import MeetingKind, create_meetings, plan_meetings
from models.meeting_dates import Every, Repeat
from models.meeting_reminders import queue_due_reminders
from models.official_days import load_official_days
from models.organisation import get_org_by_code
from models.workdays import WorkCalendar

PARTY_DAY_BRANCHES = ("C01B1", "C01B2", "C02B1", "C03B1")


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
    # Within half an hour: sign-in (open from 30 minutes before) can be tried as soon as the demo runs.
    soon = (now + timedelta(minutes=25)).replace(second=0, microsecond=0)
    soon = soon.replace(minute=soon.minute - soon.minute % 5)
    await add("C01B1", MeetingKind.lecture, "书记讲党课", soon, 60, "阳光社区党群服务中心", "基层治理中的党员作用")
    await queue_due_reminders(session=session, now=now, quiet=quiet)
    return count
