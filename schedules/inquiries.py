"""The 留言 tick: a 留言 nobody answered for 2 working days goes to the organisation above
(models/inquiry_messages.py). Safe in every instance and on every tick: a 留言 is escalated once (it
is marked, and its outbox rows are queued once)."""

import logging
from datetime import datetime, time, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.inquiry_messages import escalate_unanswered

log = logging.getLogger(__name__)


async def escalate_inquiries(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tz: str | tzinfo,
    quiet_window: tuple[time, time] | None,
    now: datetime | None = None,
) -> int:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    async with sessions() as session:
        written = await escalate_unanswered(session=session, zone=zone, quiet=quiet_window, now=now or utcnow())
        await session.commit()
    if written:
        log.info("留言: %d escalation messages", written)
    return written
