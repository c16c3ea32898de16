"""A notice to thousands: the outbox's statistics are brought up to date as the rows are queued, so the
收到 look-ups of the minutes after it (before autovacuum looks) are planned for the table as it is."""

import os

import pytest
from sqlalchemy import insert

from bot.db import SessionFactory
from models import Person, PersonKind
from models.audience import Recipient
from models.channel_plan import ChannelChoice
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import ANALYZE_AFTER, queue_messages
from models.subject import Subject
from tests.db import PG_ENV

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV, "").startswith("postgresql"), reason="PostgreSQL's planner statistics"
)


async def _reltuples(sessions: SessionFactory) -> float:
    async with sessions() as s:
        conn = await s.connection()
        return float((await conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'delivery'")).scalar_one())


async def test_a_notice_to_thousands_updates_the_outbox_statistics(session_factory: SessionFactory) -> None:
    async with session_factory() as s:
        rows = [{"name": f"党员{i}", "kind": PersonKind.member.name} for i in range(ANALYZE_AFTER)]
        await s.exec(insert(Person), params=rows)  # type: ignore[call-overload]
        await s.commit()
    small_before = await _reltuples(session_factory)
    async with session_factory() as s:
        ids = list((await (await s.connection()).exec_driver_sql("SELECT id FROM person ORDER BY id")).scalars())
        choice = ChannelChoice(Channel.work_app, "u", "测试")
        few = await queue_messages(session=s, subject=Subject.notice(1), recipients=[Recipient(ids[0], "")],
                                   not_before=utcnow(), choose=lambda _p: choice)
        await s.commit()
    assert few.rows == 1 and await _reltuples(session_factory) == small_before  # one row: nothing analysed
    async with session_factory() as s:
        queued = await queue_messages(session=s, subject=Subject.notice(2),
                                      recipients=[Recipient(i, "") for i in ids], not_before=utcnow(),
                                      choose=lambda _p: choice)
        await s.commit()
    assert queued.rows == ANALYZE_AFTER
    assert await _reltuples(session_factory) >= ANALYZE_AFTER
