"""A round of sends settles in a few statements, and still only the rows that are its own claim: a
dispatcher that was too slow never overwrites what a later claim did, and its real outcome replaces an
"unknown" that another dispatcher had to assume."""

from datetime import timedelta

from sqlmodel import col, select

from bot.db import SessionFactory
from models import Delivery, DeliveryStatus
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import SETTLE_CHUNK, claim_due, mark_sending, recover_expired, settle_claimed
from tests.delivery.outbox import seed_outbox

LEASE = timedelta(seconds=60)


async def _claim(sessions: SessionFactory, limit: int = 10_000) -> list[Delivery]:
    """Claimed and marked sending, as a dispatcher does just before the requests go."""
    async with sessions() as s:
        rows = await claim_due(session=s, limit=limit, lease=LEASE)
        await mark_sending(session=s, rows=rows, lease=LEASE)
        await s.commit()
    return rows


async def _settle(sessions: SessionFactory, outcomes: list[tuple[int, int, dict[str, object]]]) -> set[int]:
    async with sessions() as s:
        settled = await settle_claimed(session=s, outcomes=outcomes)
        await s.commit()
    return settled


async def _lease_runs_out_and_is_recovered(sessions: SessionFactory) -> None:
    async with sessions() as s:
        for row in await s.exec(select(Delivery)):
            row.lease_until = utcnow() - timedelta(seconds=1)
            s.add(row)
        await s.commit()
    async with sessions() as s:
        await recover_expired(session=s)
        await s.commit()


async def _rows(sessions: SessionFactory) -> list[Delivery]:
    async with sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def test_a_big_round_settles_each_row_with_its_own_outcome(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, SETTLE_CHUNK + 100, Channel.mp_template)
    claimed = await _claim(session_factory)
    now = utcnow()
    outcomes: list[tuple[int, int, dict[str, object]]] = []
    for i, row in enumerate(claimed):
        if i % 3 == 0:  # sent, each template with its own msgid
            values: dict[str, object] = {"status": DeliveryStatus.sent, "sent_at": now, "errcode": 0,
                                         "template_msgid": f"m{i}"}
        elif i % 3 == 1:  # a transient error: each retry at its own time
            values = {"status": DeliveryStatus.retry, "next_attempt_at": now + timedelta(seconds=i),
                      "errcode": -1, "reason": "微信系统繁忙"}
        else:  # failed without an errcode (the network)
            values = {"status": DeliveryStatus.failed, "errcode": None, "reason": f"连接失败 {i}"}
        outcomes.append((row.id, row.attempts, values))  # type: ignore[arg-type]

    assert await _settle(session_factory, outcomes) == {r.id for r in claimed}

    rows = {r.id: r for r in await _rows(session_factory)}
    for i, row in enumerate(claimed):
        got = rows[row.id]
        assert got.lease_until is None
        if i % 3 == 0:
            assert (got.status, got.template_msgid, got.errcode) == (DeliveryStatus.sent, f"m{i}", 0) and got.sent_at
        elif i % 3 == 1:
            assert got.status == DeliveryStatus.retry and got.errcode == -1
            assert abs((got.next_attempt_at - now).total_seconds() - i) < 0.01
        else:
            assert (got.status, got.errcode, got.reason) == (DeliveryStatus.failed, None, f"连接失败 {i}")


async def test_a_too_slow_dispatcher_cannot_settle_a_row_claimed_again(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 3, Channel.work_app)
    first = await _claim(session_factory)
    await _lease_runs_out_and_is_recovered(session_factory)  # WeCom rows come back to be sent again
    second = await _claim(session_factory)
    sent = {"status": DeliveryStatus.sent, "sent_at": utcnow(), "errcode": 0}

    assert await _settle(session_factory, [(r.id, r.attempts, sent) for r in first]) == set()  # type: ignore[misc]
    assert {r.status for r in await _rows(session_factory)} == {DeliveryStatus.sending}

    assert await _settle(session_factory, [(r.id, r.attempts, sent) for r in second]) == {r.id for r in second}  # type: ignore[misc]
    assert {r.status for r in await _rows(session_factory)} == {DeliveryStatus.sent}


async def test_the_real_outcome_replaces_unknown(session_factory: SessionFactory) -> None:
    await seed_outbox(session_factory, 2, Channel.mp_custom)
    claimed = await _claim(session_factory)
    await _lease_runs_out_and_is_recovered(session_factory)  # MP rows: unknown, not sent again
    assert {r.status for r in await _rows(session_factory)} == {DeliveryStatus.unknown}

    sent = {"status": DeliveryStatus.sent, "sent_at": utcnow(), "errcode": 0, "reason": ""}
    assert await _settle(session_factory, [(r.id, r.attempts, sent) for r in claimed]) == {r.id for r in claimed}  # type: ignore[misc]
    assert [(r.status, r.reason) for r in await _rows(session_factory)] == [(DeliveryStatus.sent, "")] * 2
