"""What the dispatcher needs to fall back: each person's reachable identities, as models/audience.py
resolves them (following identities; the MP 48 h window from the inbound log; the group robot in
reach), and the insert of the next channel's row (models/channel_plan.py, shared with the handler of
template delivery reports)."""

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient, attach_channels
from models.channel_plan import add_fallback_row
from models.person import Person

__all__ = ["add_fallback_row", "load_recipients"]


async def load_recipients(*, session: AsyncSession, person_ids: Iterable[int], now: datetime) -> dict[int, Recipient]:
    """The Recipient of each person (by id), reachable or not; unknown ids are left out."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    found = {
        person_id: Recipient(person_id, name)
        for person_id, name in await session.exec(select(Person.id, Person.name).where(col(Person.id).in_(ids)))
    }
    await attach_channels(session=session, people=found, now=now)
    return found
