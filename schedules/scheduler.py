"""The scheduler of one process. Jobs are safe to run in every instance: they work by claims and
conditional writes in the database, not by being the only timer."""

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from schedules.housekeeping import prune_old_records


def build_scheduler(*, sessions: async_sessionmaker[AsyncSession], timezone: str) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(
        prune_old_records,
        CronTrigger(hour=3, minute=17, timezone=timezone),
        args=[sessions],
        id="prune-old-records",
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler
