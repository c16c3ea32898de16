"""Nightly pruning of the inbound log and old login links."""

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.housekeeping import prune

log = logging.getLogger(__name__)


async def prune_old_records(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        inbound, tokens = await prune(session=session)
        await session.commit()
    log.info("pruned %d inbound messages and %d login links", inbound, tokens)
