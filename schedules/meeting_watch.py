"""The daily look at organisational life (models/meeting_watch.py): period-end reminders of 三会一课
gaps, 静默支部 flags and the warnings about members. Once a day after 09:00 (a rerun, or another
instance, writes nothing new: each finding's message is written once)."""

import logging
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.meeting_watch import flag_silent_branches, remind_period_gaps, warn_about_members
from models.obligations import parse_obligations
from models.official_days import load_official_days
from models.workdays import WorkCalendar

log = logging.getLogger(__name__)


async def watch_meetings(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tz: str | tzinfo,
    quiet_window: tuple[time, time] | None,
    obligations: str,
    now: datetime | None = None,
) -> dict[str, int]:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = (now or utcnow()).astimezone(zone)
    async with sessions() as session:
        calendar = WorkCalendar(await load_official_days(session=session))
        written = {
            "period_gaps": await remind_period_gaps(session=session, obligations=parse_obligations(obligations),
                                                    calendar=calendar, now=local, quiet=quiet_window),
            "silent_branches": await flag_silent_branches(session=session, now=local, quiet=quiet_window),
            "member_warnings": await warn_about_members(session=session, now=local, quiet=quiet_window),
        }
        await session.commit()
    if any(written.values()):
        log.info("meeting watch: %s", written)
    return written
