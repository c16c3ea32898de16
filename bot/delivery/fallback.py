"""What the dispatcher needs to fall back: each person's reachable identities, as models/audience.py
resolves them (following identities; the MP 48 h window from the inbound log), and an insert of the
next channel's row that a concurrent or repeated fallback cannot duplicate."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient, attach_channels
from models.delivery import Channel, Delivery, DeliveryStatus
from models.person import Person


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


async def add_fallback_row(
    *, session: AsyncSession, failed: Delivery, channel: Channel, recipient: str, reason: str, now: datetime
) -> None:
    """A pending row for the next channel carrying the same message as `failed`, due now, unless that
    message already has a row on that channel."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Delivery)
        .values(
            notice_id=failed.notice_id,
            person_id=failed.person_id,
            purpose=failed.purpose,
            round=failed.round,
            body=failed.body,
            org_id=failed.org_id,
            channel=channel.name,
            recipient=recipient,
            status=DeliveryStatus.pending.name,
            attempts=0,
            next_attempt_at=now,
            reason=reason[:300],
        )
        .on_conflict_do_nothing(index_elements=["notice_id", "person_id", "channel", "purpose", "round"])
    )
    await session.exec(stmt)  # type: ignore[call-overload]
