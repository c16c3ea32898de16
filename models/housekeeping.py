"""Pruning what is only kept for a while: the inbound log (dedupe needs minutes, the 48 h window two
days, support questions a few weeks), used or expired login links and the directory's change log."""

from datetime import timedelta

from sqlalchemy import delete, or_
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.directory_version import prune_directory_changes
from models.inbound import InboundMessage
from models.login import LoginToken
from models.waiting_report import prune_reports

INBOUND_RETENTION = timedelta(days=30)
DIRECTORY_LOG_RETENTION = timedelta(days=1)


async def prune(*, session: AsyncSession, inbound_retention: timedelta = INBOUND_RETENTION) -> tuple[int, int]:
    now = utcnow()
    inbound = await session.exec(
        delete(InboundMessage).where(col(InboundMessage.received_at) < now - inbound_retention)
    )
    tokens = await session.exec(
        delete(LoginToken).where(or_(col(LoginToken.expires_at) < now, col(LoginToken.used_at).is_not(None)))
    )
    await prune_reports(session=session, now=now)  # delivery reports whose send never settled
    # Every process polls the directory's log each second; one down for longer reloads everything.
    await prune_directory_changes(session=session, before=now - DIRECTORY_LOG_RETENTION)
    return inbound.rowcount, tokens.rowcount
