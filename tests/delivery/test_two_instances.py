"""Two `grassroots serve` instances share one PostgreSQL database and one WeChat. A notice goes to 1,600
people; one instance is killed with `kill -9` in the middle of sending. The other finishes the job:
nobody gets the notice twice, every member gets it, and only the requests the dead instance had in
flight on the customer-service channel (where a second send could deliver twice) end "unknown"."""

import os
from collections import Counter
from pathlib import Path

import pytest

from bot.db import SessionFactory
from emulator import Emulator, EmulatorConfig
from models.delivery import DeliveryStatus
from tests.db import PG_ENV
from tests.delivery.instances import (
    OPEN,
    Instance,
    check_every_member_once,
    four_kinds,
    openid,
    queue_notice,
    register_district,
    rows_of,
    seed_district,
    statuses,
    until,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV, "").startswith("postgresql"), reason="two instances share one PostgreSQL database"
)

TOTAL = 1600
LATENCY_MS = 150
CONCURRENCY = 16  # the dispatcher's requests in flight at once (its default)


async def test_killing_one_of_two_instances_mid_send_loses_nothing_and_sends_nothing_twice(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    emulator = await Emulator(EmulatorConfig()).start()
    instances: list[Instance] = []
    try:
        district_id, author_id = await seed_district(session_factory, emulator.config, TOTAL, four_kinds)
        register_district(emulator, TOTAL, four_kinds)
        survivor = Instance("survivor", database_url, emulator, tmp_path)
        victim = Instance("victim", database_url, emulator, tmp_path)
        instances = [survivor, victim]
        await survivor.ready()
        await victim.ready()
        emulator.config.mp_callback_url = survivor.base_url + "/wechat/mp"  # delivery reports of templates
        emulator.set_faults(latency_ms=LATENCY_MS)  # each call takes a while, so the kill lands mid-send

        notice_id, written = await queue_notice(session_factory, district_id, author_id)
        assert written == TOTAL

        # Once a quarter of the rows are sent, the victim dies without a chance to clean up.
        assert await until(lambda c: c[DeliveryStatus.sent] >= written // 4, session_factory, within=30)
        victim.kill()
        at_kill = await statuses(session_factory)
        claimed_at_kill = at_kill[DeliveryStatus.in_flight] + at_kill[DeliveryStatus.sending]
        assert 0 < at_kill[DeliveryStatus.sent] < written and claimed_at_kill > 0

        assert await until(lambda c: not sum(c[s] for s in OPEN), session_factory, within=60)
        unknown = await check_every_member_once(session_factory, emulator, notice_id)

        print(f"\nrandom kill: claimed {claimed_at_kill} (both instances), unknown {len(unknown)}")
        # Of the rows both instances held at the kill, only the victim's requests in flight can be
        # unknown: at most one wave of customer-service sends.
        assert len(unknown) <= CONCURRENCY, f"{len(unknown)} unknown of {claimed_at_kill} claimed"
        rows = await rows_of(session_factory, notice_id)
        resent = [r for r in rows if r.attempts > 1 or (r.status == DeliveryStatus.sent and r.unanswered_at)]
        assert unknown or resent or claimed_at_kill, "the victim held no rows when it died"
        # Every member whose window had closed fell back to a template, unless the answer died with the victim.
        stale = {openid(i) for i in range(TOTAL) if four_kinds(i) == "stale"}
        fell_back = Counter(r.status for r in rows)[DeliveryStatus.fell_back]
        assert fell_back + len([r for r in unknown if r.recipient in stale]) == len(stale)
        assert survivor.proc.poll() is None
    finally:
        for instance in instances:
            instance.stop()
        await emulator.stop()
