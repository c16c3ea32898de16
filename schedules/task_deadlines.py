"""The task-deadline tick: reminders one working day before a task's deadline and escalations once it
passed (models/task_deadlines.py). Safe in every instance and on every tick: each message is queued
once, so a second run at the same moment writes nothing."""

import logging
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.task_deadlines import Written, queue_deadline_messages

log = logging.getLogger(__name__)


async def check_task_deadlines(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tz: str | tzinfo,
    quiet_window: tuple[time, time] | None,
    now: datetime | None = None,
) -> Written:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    async with sessions() as session:
        written = await queue_deadline_messages(session=session, zone=zone, quiet=quiet_window, now=now or utcnow())
        await session.commit()
    if written.reminders or written.overdue:
        log.info("task deadlines: %d reminders, %d escalations", written.reminders, written.overdue)
    return written
