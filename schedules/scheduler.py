"""The scheduler of one process. Jobs are safe to run in every instance: they work by claims and
conditional writes in the database, not by being the only timer."""

from collections.abc import Sequence
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.meeting_reminders import DEFAULT_OFFSETS, Offset
from models.obligations import DEFAULT_OBLIGATIONS
from schedules.housekeeping import prune_old_records
from schedules.inquiries import escalate_inquiries
from schedules.meeting_watch import watch_meetings
from schedules.meetings import queue_meeting_reminders
from schedules.reminders import send_due_reminders
from schedules.task_deadlines import check_task_deadlines

# Reminders fall at 09:00 and escalations at the deadline (a task's, a 留言's 2 working days): a few
# minutes late matters little.
TASK_DEADLINE_EVERY = timedelta(minutes=5)


def build_scheduler(
    *,
    sessions: async_sessionmaker[AsyncSession],
    timezone: str,
    quiet_window: tuple[time, time] | None = None,
    remind_after_hours: float = 4,
    remind_max: int = 2,
    remind_every_seconds: int = 60,
    meeting_obligations: str = DEFAULT_OBLIGATIONS,
    reminder_offsets: Sequence[Offset] = DEFAULT_OFFSETS,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(
        prune_old_records,
        CronTrigger(hour=3, minute=17, timezone=timezone),
        args=[sessions],
        id="prune-old-records",
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        send_due_reminders,
        IntervalTrigger(seconds=remind_every_seconds, timezone=timezone),
        args=[sessions],
        kwargs={
            "after": timedelta(hours=remind_after_hours),
            "max_rounds": remind_max,
            "quiet_window": quiet_window,
            "tz": ZoneInfo(timezone),
        },
        id="send-due-reminders",
        coalesce=True,
        max_instances=1,
    )
    jobs: tuple[tuple[Any, str, dict[str, Any]], ...] = (
        (check_task_deadlines, "check-task-deadlines", {}), (escalate_inquiries, "escalate-inquiries", {}),
        (queue_meeting_reminders, "queue-meeting-reminders", {"offsets": tuple(reminder_offsets)}))
    for job, job_id, extra in jobs:
        scheduler.add_job(
            job,
            IntervalTrigger(seconds=TASK_DEADLINE_EVERY.total_seconds(), timezone=timezone),
            args=[sessions],
            kwargs={"tz": ZoneInfo(timezone), "quiet_window": quiet_window, **extra},
            id=job_id,
            coalesce=True,
            max_instances=1,
        )
    # Once a day, in working hours (a morning missed while the service was down is caught up within six
    # hours; the period-end reminders span five working days anyway).
    scheduler.add_job(
        watch_meetings,
        CronTrigger(hour=9, minute=5, timezone=timezone),
        args=[sessions],
        kwargs={"tz": ZoneInfo(timezone), "quiet_window": quiet_window, "obligations": meeting_obligations},
        id="watch-meetings",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    return scheduler
