"""`kill -9` of the sending instance at three chosen moments, then another instance takes over (on one
PostgreSQL database). The emulator holds WeChat's endpoints to stop the world exactly there:

- before a batch's requests: the batch is claimed, the process waits for an access token. Nothing had
  left it: every row is sent by the survivor, none is unknown.
- while the requests are in flight: WeChat has them and has not answered. Only the customer-service
  requests among them can end unknown (WeCom's duplicate check and the template's client_msg_id drop
  the survivor's repeats); the rest of the claimed batch, never sent, is sent by the survivor.
- after WeChat answered and before the answers are recorded (the database commit is held back): the
  answers died with the process, so those requests count as in flight, exactly as above.

In every case nobody gets the notice twice and the unknown are at most the requests in flight."""

import asyncio
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.db import SessionFactory
from emulator import Emulator, EmulatorConfig
from models.delivery import Channel, DeliveryStatus
from tests.db import PG_ENV
from tests.delivery.instances import (
    OPEN,
    Instance,
    check_every_member_once,
    four_kinds,
    queue_notice,
    register_district,
    rows_of,
    seed_district,
    statuses,
    until,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV, "").startswith("postgresql"), reason="instances share one PostgreSQL database"
)

TOTAL = 400  # two claimed batches of 200
CONCURRENCY = 16
TOKENS = ("cgi-bin/token", "cgi-bin/gettoken")
SENDS = ("message/custom/send", "message/template/send", "cgi-bin/message/send")


async def _poll(done: Callable[[], bool], within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the moment never came")


async def _settled_calls(emulator: Emulator, count: int, within: float = 20.0) -> None:
    """The held calls were answered (the emulator records a call once it has answered)."""
    await _poll(lambda: sum(len(emulator.calls(e)) for e in SENDS) >= count, within)


async def _held_wave(emulator: Emulator) -> Counter[str]:
    """Waits until the first wave's requests all wait at WeChat, and counts them by endpoint."""
    await _poll(lambda: emulator.waiting_calls() > 0)
    last, steady = -1, 0
    while steady < 10:  # unchanged for half a second: the whole wave is out
        now = emulator.waiting_calls()
        steady, last = (steady + 1, last) if now == last else (0, now)
        await asyncio.sleep(0.05)
    return Counter({e: emulator.waiting_calls(e) for e in SENDS})


@pytest.mark.parametrize("moment", ["before_requests", "in_flight", "answered_not_recorded"])
async def test_a_kill_at_any_moment_of_sending_loses_no_member_and_sends_nobody_twice(
    moment: str, database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    emulator = await Emulator(EmulatorConfig()).start()
    instances: list[Instance] = []
    lock: asyncpg.Connection | None = None
    try:
        district_id, author_id = await seed_district(session_factory, emulator.config, TOTAL, four_kinds)
        register_district(emulator, TOTAL, four_kinds)
        victim = Instance("victim", database_url, emulator, tmp_path)
        instances.append(victim)
        await victim.ready()
        for endpoint in TOKENS if moment == "before_requests" else SENDS:
            emulator.hold_calls(endpoint)

        notice_id, written = await queue_notice(session_factory, district_id, author_id)
        assert written == TOTAL
        in_flight = Counter[str]()
        if moment == "before_requests":
            await _poll(lambda: emulator.waiting_calls() > 0)
            assert not any(emulator.calls(e) for e in SENDS)  # nothing sent: the batch waits for its token
        else:
            in_flight = await _held_wave(emulator)
            assert sum(in_flight.values()) <= CONCURRENCY
        if moment == "answered_not_recorded":
            # The next commit (recording these answers) waits for this lock; WeChat answers meanwhile.
            lock = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
            await lock.execute("BEGIN; LOCK TABLE delivery IN SHARE MODE")
            emulator.release_calls()
            await _settled_calls(emulator, sum(in_flight.values()))
            await asyncio.sleep(0.3)
        at_kill = await statuses(session_factory)
        victim.kill()
        if lock is not None:
            await lock.close()
            lock = None
        emulator.release_calls()  # what WeChat had received is delivered now, with nobody to hear the answer

        survivor = Instance("survivor", database_url, emulator, tmp_path)
        instances.append(survivor)
        await survivor.ready()
        emulator.config.mp_callback_url = survivor.base_url + "/wechat/mp"
        assert await until(lambda c: not sum(c[s] for s in OPEN), session_factory, within=60)
        unknown = await check_every_member_once(session_factory, emulator, notice_id)

        claimed = at_kill[DeliveryStatus.in_flight] + at_kill[DeliveryStatus.sending]
        print(f"\n{moment}: claimed {claimed}, requests in flight {sum(in_flight.values())}, unknown {len(unknown)}")
        assert claimed >= 200
        # Exactly the customer-service requests WeChat had from the victim end unknown; nothing else.
        assert len(unknown) == in_flight["message/custom/send"] <= CONCURRENCY
        # The rest of the victim's claim had never left it: sent by the survivor as a first attempt. Only
        # the template requests in flight were sent again (and dropped by WeChat as repeats).
        rows = await rows_of(session_factory, notice_id)
        again = Counter(r.channel for r in rows if r.attempts > 1)
        assert set(again) <= {Channel.mp_template, Channel.work_app}
        assert again[Channel.mp_template] == in_flight["message/template/send"]
        assert again[Channel.work_app] == 0 or in_flight["cgi-bin/message/send"]
    finally:
        if lock is not None:
            await lock.close()
        emulator.release_calls()
        for instance in instances:
            instance.stop()
        await emulator.stop()
