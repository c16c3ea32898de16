"""Template delivery reports (TEMPLATESENDJOBFINISH) that arrived before their send was settled.

The dispatcher settles a whole round of sends in one transaction after the last answer, so WeChat's
report of an early send can arrive first, naming a msgid no row holds yet. Instead of making the
callback wait and poll the outbox, the report is kept here; the dispatcher applies it right after it
stores the msgid (bot/delivery/reports.py). A report nobody claims is pruned after a day."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import UniqueConstraint, delete
from sqlmodel import Field, SQLModel, col, select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulk import chunks, insert_ignoring_conflicts
from models.clock import utcnow

RETENTION = timedelta(days=1)


class WaitingReport(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("openid", "msgid", name="uq_waitingreport_message"),)
    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64)
    msgid: str = Field(max_length=64)
    status: str = Field(max_length=100)  # as WeChat wrote it: success / failed:user block / ...
    received_at: datetime = Field(default_factory=utcnow, index=True)


async def keep_report(*, session: AsyncSession, openid: str, msgid: str, status: str) -> None:
    rows = [{"openid": openid[:64], "msgid": msgid[:64], "status": status[:100], "received_at": utcnow()}]
    await insert_ignoring_conflicts(session=session, table=WaitingReport, rows=rows, key=("openid", "msgid"))


async def take_reports(*, session: AsyncSession, sent: Iterable[tuple[str, str]]) -> list[WaitingReport]:
    """The kept reports of these (openid, msgid) sends, removed as they are handed over."""
    found: list[WaitingReport] = []
    # Almost always none is kept (only a failure that overtook its send): one cheap look first, since the
    # dispatcher asks after every few answers.
    if (await session.exec(select(WaitingReport.id).limit(1))).first() is None:
        return found
    for part in chunks(sorted(set(sent)), 500):
        reports = list(await session.exec(
            select(WaitingReport).where(tuple_(WaitingReport.openid, WaitingReport.msgid).in_(list(part)))
        ))
        if reports:
            await session.exec(delete(WaitingReport).where(col(WaitingReport.id).in_([r.id for r in reports])))
        found.extend(reports)
    return found


async def prune_reports(*, session: AsyncSession, now: datetime | None = None) -> int:
    result = await session.exec(
        delete(WaitingReport).where(col(WaitingReport.received_at) < (now or utcnow()) - RETENTION)
    )
    return int(result.rowcount)
