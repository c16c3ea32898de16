"""The outbox hands each due delivery to exactly one dispatcher, and gets it back if that one dies."""

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.db import SessionFactory
from models import Delivery, DeliveryStatus
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import claim_due, recover_expired
from tests.delivery.outbox import seed_outbox

LEASE = timedelta(seconds=60)


async def _claim(sessions: SessionFactory, limit: int) -> list[int]:
    async with sessions() as s:
        rows = await claim_due(session=s, limit=limit, lease=LEASE)
        await s.commit()
    return [r.id for r in rows]  # type: ignore[misc]


async def test_two_dispatchers_never_get_the_same_row(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 50)

    first, second, third = await asyncio.gather(*(_claim(session_factory, 20) for _ in range(3)))

    claimed = first + second + third
    assert len(claimed) == len(set(claimed)) == 50
    assert await _claim(session_factory, 20) == []  # all in flight, leases running


async def _lease_runs_out(
    sessions: SessionFactory, ago: timedelta = timedelta(seconds=1), *, requests_out: bool = True
) -> None:
    """The dispatcher died; time passes beyond the lease (claimed a lease earlier). `requests_out`: it
    had marked the rows sending, so their requests may have reached WeChat."""
    async with sessions() as s:
        for row in await s.exec(select(Delivery)):
            row.lease_until = utcnow() - ago
            if requests_out:
                row.status, row.sending_at = DeliveryStatus.sending, row.lease_until - LEASE
            s.add(row)
        await s.commit()


async def _on_channel(sessions: SessionFactory, channel: Channel) -> None:
    async with sessions() as s:
        for row in await s.exec(select(Delivery)):
            row.channel = channel
            s.add(row)
        await s.commit()


async def _recover(sessions: SessionFactory) -> int:
    async with sessions() as s:
        count = await recover_expired(session=s)
        await s.commit()
    return count


@pytest.mark.parametrize("channel", list(Channel))
async def test_rows_a_dead_dispatcher_claimed_but_never_sent_come_back_on_every_channel(
    session_factory: SessionFactory, channel: Channel
) -> None:
    await seed_outbox(session_factory, 3)
    await _on_channel(session_factory, channel)
    taken = await _claim(session_factory, 10)
    # Killed before it marked them sending (waiting for a token, say), and found only much later.
    await _lease_runs_out(session_factory, ago=timedelta(minutes=40), requests_out=False)

    assert await _recover(session_factory) == 3

    # Nothing of them left the process: they are sent as if for the first time, the attempt given back.
    assert sorted(await _claim(session_factory, 10)) == sorted(taken)
    async with session_factory() as s:
        rows = list(await s.exec(select(Delivery)))
    assert {r.attempts for r in rows} == {1} and {r.unanswered_at for r in rows} == {None}


async def test_wecom_rows_of_a_dead_dispatcher_come_back_after_the_lease(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 3)
    taken = await _claim(session_factory, 10)
    await _lease_runs_out(session_factory)

    assert await _recover(session_factory) == 3
    again = await _claim(session_factory, 10)

    # WeCom's duplicate check drops a repeat, so sending again cannot reach anyone twice.
    assert sorted(again) == sorted(taken)
    async with session_factory() as s:
        assert {r.attempts for r in await s.exec(select(Delivery))} == {2}


async def test_wecom_rows_found_after_its_duplicate_check_window_are_not_sent_again(
    session_factory: SessionFactory,
) -> None:
    await seed_outbox(session_factory, 2)
    await _claim(session_factory, 10)
    await _lease_runs_out(session_factory, ago=timedelta(minutes=30))  # every instance was down meanwhile

    assert await _recover(session_factory) == 2

    # WeCom would no longer drop a repeat of a send made over half an hour ago: better unknown than twice.
    assert await _claim(session_factory, 10) == []
    async with session_factory() as s:
        assert {r.status for r in await s.exec(select(Delivery))} == {DeliveryStatus.unknown}


async def test_mp_rows_of_a_dead_dispatcher_are_not_sent_twice(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 3)
    await _on_channel(session_factory, Channel.mp_custom)
    await _claim(session_factory, 10)
    await _lease_runs_out(session_factory)

    assert await _recover(session_factory) == 3

    # The first send may have arrived: the rows settle as unknown, with the reason, and are not claimed.
    assert await _claim(session_factory, 10) == []
    async with session_factory() as s:
        rows = list(await s.exec(select(Delivery)))
    assert {r.status for r in rows} == {DeliveryStatus.unknown}
    assert all("可能已送达" in r.reason for r in rows)


async def test_template_rows_of_a_dead_dispatcher_are_sent_again_inside_the_client_msg_id_window(
    session_factory: SessionFactory,
) -> None:
    await seed_outbox(session_factory, 3)
    await _on_channel(session_factory, Channel.mp_template)
    taken = await _claim(session_factory, 10)
    await _lease_runs_out(session_factory, ago=timedelta(minutes=3))

    assert await _recover(session_factory) == 3

    # The resend carries the same client_msg_id: WeChat drops it if the first one got through.
    assert sorted(await _claim(session_factory, 10)) == sorted(taken)


async def test_template_rows_found_after_the_client_msg_id_window_are_not_sent_again(
    session_factory: SessionFactory,
) -> None:
    await seed_outbox(session_factory, 2)
    await _on_channel(session_factory, Channel.mp_template)
    await _claim(session_factory, 10)
    await _lease_runs_out(session_factory, ago=timedelta(minutes=9))

    assert await _recover(session_factory) == 2

    assert await _claim(session_factory, 10) == []
    async with session_factory() as s:
        assert {r.status for r in await s.exec(select(Delivery))} == {DeliveryStatus.unknown}


async def test_a_retry_waits_for_its_time_and_settled_rows_stay_settled(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 3)
    async with session_factory() as s:
        rows = list(await s.exec(select(Delivery).order_by(Delivery.id)))  # type: ignore[arg-type]
        rows[0].status, rows[0].next_attempt_at = DeliveryStatus.retry, utcnow() + timedelta(minutes=5)
        rows[1].status = DeliveryStatus.sent
        s.add_all(rows)
        await s.commit()
        third = rows[2].id

    assert await _claim(session_factory, 10) == [third]
