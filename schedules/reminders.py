"""The re-reminder tick: people who have not answered 收到 are reminded again, then listed to their
branch secretary (models/reminders.py). Safe in every instance at once: the rows are conditional
inserts, so a second run at the same moment writes nothing."""

import logging
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_audit
from models.clock import utcnow
from models.quiet_hours import in_quiet_hours
from models.reminders import ReminderCounts, remind_unanswered

log = logging.getLogger(__name__)


async def send_due_reminders(
    sessions: async_sessionmaker[AsyncSession],
    *,
    after: timedelta,
    max_rounds: int,
    quiet_window: tuple[time, time] | None,
    tz: tzinfo,
    now: datetime | None = None,
) -> ReminderCounts:
    """One transaction; the dispatcher sends what it wrote. In quiet hours only urgent notices are
    chased: a normal notice's reminder waits for the morning's first run."""
    now = now or utcnow()
    quiet = in_quiet_hours(now.astimezone(tz), quiet_window)
    async with sessions() as session:
        counts = await remind_unanswered(session, now=now, after=after, max_rounds=max_rounds, urgent_only=quiet)
        if counts.written:
            record_audit(
                session=session,
                action="notice.remind",
                actor="schedule",
                reminders=counts.reminders,
                missing_lists=counts.missing_lists,
                unreachable=counts.unreachable,
            )
        await session.commit()
    if counts.written or counts.unreachable:
        log.info(
            "wrote %d reminders and %d missing lists; %d due but unreachable",
            counts.reminders,
            counts.missing_lists,
            counts.unreachable,
        )
    return counts
