"""The meetings tick: the reminders of meetings starting within the next day and a half are queued
as outbox rows (models/meeting_reminders.py). Safe in every instance and on every tick: each
(meeting, person, round) is written once."""

import logging
from collections.abc import Sequence
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.meeting_reminders import DEFAULT_OFFSETS, Offset, queue_due_reminders

log = logging.getLogger(__name__)


async def queue_meeting_reminders(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tz: str | tzinfo,
    quiet_window: tuple[time, time] | None,
    now: datetime | None = None,
    offsets: Sequence[Offset] = DEFAULT_OFFSETS,
) -> int:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    async with sessions() as session:
        written = await queue_due_reminders(session=session, now=(now or utcnow()).astimezone(zone),
                                            quiet=quiet_window, offsets=offsets)
        await session.commit()
    if written:
        log.info("meetings: %d reminder rows queued", written)
    return written
