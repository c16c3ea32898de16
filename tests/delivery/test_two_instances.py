"""Two `grassroots serve` instances share one PostgreSQL database and one WeChat. A notice goes to 1,500
people; one instance is killed with `kill -9` in the middle of sending. The other finishes the job:
nobody gets the notice twice, every row ends settled, and the rows the dead instance left unfinished
on the Official Account (where a second send could deliver twice) are settled as "unknown"."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.db import SessionFactory
from emulator import Emulator, EmulatorConfig
from models import Identity, Membership, Organisation, OrgLevel, Person, PersonKind, Platform
from models.clock import utcnow
from models.delivery import Channel, Delivery, DeliveryStatus
from models.inbound import InboundMessage, InboundStatus
from models.notice import Notice, NoticeStatus, Who
from models.notice_queries import recipients_for
from models.organisation import child_path
from models.outbox import queue_messages
from models.subject import Subject
from tests.db import PG_ENV

pytestmark = pytest.mark.skipif(
    not os.environ.get(PG_ENV, "").startswith("postgresql"), reason="two instances share one PostgreSQL database"
)

REPO = Path(__file__).resolve().parents[2]
GRASSROOTS = Path(sys.executable).parent / "grassroots"
TOTAL = 1600  # half WeCom members, a quarter MP users inside the 48 h window, a quarter outside it
LEASE_SECONDS = 5
LATENCY_MS = 150
TEXT = "防汛紧急通知\n今晚有强降雨，请各位党员留意社区群消息，做好防汛准备。"
OPEN = [DeliveryStatus.pending, DeliveryStatus.in_flight, DeliveryStatus.retry]


def _kind(i: int) -> str:
    """Channels interleaved, so every claimed batch holds some of each."""
    return ("work", "work", "window", "template")[i % 4]


def _userid(i: int) -> str:
    return f"member{i:04d}"


def _openid(i: int) -> str:
    return f"o_member{i:04d}"


async def _seed(sessions: SessionFactory, config: EmulatorConfig) -> tuple[int, int]:
    """A district with eight branches: WeCom members, MP users who wrote within 48 hours and MP users
    who did not. Returns (district id, the secretary who writes the notice)."""
    now = utcnow()
    async with sessions() as s:
        district = Organisation(code="D01", name="示范区", level=OrgLevel.district, path=child_path(None, "D01"))
        s.add(district)
        await s.flush()
        branches = []
        for b in range(8):
            code = f"B{b:02d}"
            branch = Organisation(
                code=code, name=f"第{b + 1}党支部", level=OrgLevel.branch, parent_id=district.id,
                path=child_path(district, code),
            )
            s.add(branch)
            branches.append(branch)
        people = [Person(name=f"党员{i:04d}", kind=PersonKind.member) for i in range(TOTAL)]
        s.add_all(people)
        await s.flush()
        for i, person in enumerate(people):
            s.add(Membership(person_id=person.id, org_id=branches[i % 8].id, is_primary=True))  # type: ignore[arg-type]
            if _kind(i) == "work":
                s.add(Identity(platform=Platform.work, app_id=config.work_corpid, external_id=_userid(i),
                               person_id=person.id))
                continue
            s.add(Identity(platform=Platform.mp, app_id=config.mp_appid, external_id=_openid(i), person_id=person.id))
            if _kind(i) == "window":  # wrote to the Official Account an hour ago
                s.add(InboundMessage(dedupe_key=f"seed-{i}", platform="mp", from_user=_openid(i), msg_type="text",
                                     content="你好", received_at=now - timedelta(hours=1),
                                     status=InboundStatus.replied))
        await s.commit()
        return district.id, people[0].id  # type: ignore[return-value]


def _register(emulator: Emulator) -> None:
    for i in range(TOTAL):
        if _kind(i) == "work":
            emulator.register_user("work", _userid(i))
        else:
            emulator.register_user("mp", _openid(i), interacted=_kind(i) == "window")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    """One `grassroots serve` process on its own port, its log in a file."""

    def __init__(self, name: str, database_url: str, emulator: Emulator, folder: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = emulator.config
        values = {
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "PUBLIC_URL": self.base_url,
            "SECRET_KEY": "two-instances-secret",
            "MP_APPID": config.mp_appid,
            "MP_SECRET": config.mp_secret,
            "MP_TOKEN": config.mp_token,
            "MP_AES_KEY": config.mp_aes_key,
            "WORK_CORPID": config.work_corpid,
            "WORK_AGENTID": str(config.work_agentid),
            "WORK_SECRET": config.work_secret,
            "WORK_TOKEN": config.work_token,
            "WORK_AES_KEY": config.work_aes_key,
            "MP_API_BASE": emulator.mp_api_base,
            "WORK_API_BASE": emulator.work_api_base,
            "QUIET_HOURS": "",
            "DISPATCH_IDLE": "0.2",
            "DISPATCH_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
        env.update({f"GRASSROOTS_{k}": v for k, v in values.items()})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(GRASSROOTS), "serve"], env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited:\n{self.log.read_text()}")
                try:
                    if (await client.get(self.base_url + "/healthz", timeout=1.0)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _statuses(sessions: SessionFactory) -> Counter[str]:
    async with sessions() as s:
        rows = await s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))  # type: ignore[call-overload]
        return Counter({str(status): n for status, n in rows})


async def _until(done: Callable[[Counter[str]], bool], sessions: SessionFactory, within: float) -> bool:
    """Polls the outbox's status counts until `done` holds (True) or `within` seconds pass (False)."""
    deadline = time.monotonic() + within
    for _ in range(int(within / 0.1) + 1):
        if done(await _statuses(sessions)):
            return True
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return False


async def _delivered(emulator: Emulator) -> list[tuple[str, str]]:
    return [(m.platform, m.recipient) for m in emulator.messages() if m.delivered and m.platform in ("mp", "work")]


async def test_killing_one_of_two_instances_mid_send_loses_nothing_and_sends_nothing_twice(
    database_url: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    emulator = await Emulator(EmulatorConfig()).start()
    instances: list[Instance] = []
    try:
        district_id, author_id = await _seed(session_factory, emulator.config)
        _register(emulator)
        survivor = Instance("survivor", database_url, emulator, tmp_path)
        victim = Instance("victim", database_url, emulator, tmp_path)
        instances = [survivor, victim]
        await asyncio.gather(survivor.ready(), victim.ready())
        emulator.config.mp_callback_url = survivor.base_url + "/wechat/mp"  # delivery reports of templates
        emulator.set_faults(latency_ms=LATENCY_MS)  # each call takes a while, so the kill lands mid-send

        async with session_factory() as s:  # 王书记 confirms the notice to every member of the district
            people = await recipients_for(session=s, org_ids=[district_id], who=[Who.members])
            notice = Notice(org_id=district_id, author_person_id=author_id, text=TEXT, status=NoticeStatus.confirmed,
                            confirmed_at=utcnow())
            s.add(notice)
            await s.flush()
            queued = await queue_messages(session=s, subject=Subject.notice(notice.id), recipients=people,
                                          not_before=utcnow())
            written = queued.rows
            await s.commit()
        assert written == TOTAL

        # Once a quarter of the rows are sent, the victim dies without a chance to clean up.
        assert await _until(lambda c: c[DeliveryStatus.sent] >= written // 4, session_factory, within=30)
        victim.kill()
        at_kill = await _statuses(session_factory)
        in_flight_at_kill = at_kill[DeliveryStatus.in_flight]
        assert 0 < at_kill[DeliveryStatus.sent] < written and in_flight_at_kill > 0

        await _until(lambda c: not sum(c[s] for s in OPEN), session_factory, within=40)
        await emulator.drain()

        async with session_factory() as s:
            rows = list(await s.exec(select(Delivery).where(Delivery.subject_id == notice.id)))
        by_status = Counter(r.status for r in rows)
        assert not [r for r in rows if r.status in OPEN], f"rows still open: {by_status}"
        assert set(by_status) <= {DeliveryStatus.sent, DeliveryStatus.unknown}, by_status

        delivered = Counter(await _delivered(emulator))
        twice = {who: n for who, n in delivered.items() if n > 1}
        assert not twice, f"received the notice more than once: {twice}"

        platform_of = {Channel.work_app: "work", Channel.mp_custom: "mp", Channel.mp_template: "mp"}
        sent = {(platform_of[r.channel], r.recipient) for r in rows if r.status == DeliveryStatus.sent}
        unknown = [r for r in rows if r.status == DeliveryStatus.unknown]
        unknown_keys = {(platform_of[r.channel], r.recipient) for r in unknown}
        assert sent <= set(delivered), "a row counted as sent but WeChat never delivered it"
        assert set(delivered) - sent <= unknown_keys, "a delivered message whose row is not sent"
        assert len(sent) + len(set(delivered) & unknown_keys) == len(delivered)

        # Only the victim's unfinished customer-service rows are unknown; its WeCom and template rows were
        # sent again, under WeCom's duplicate check and the template's client_msg_id, which dropped the
        # copies of what had already arrived.
        assert len(unknown) <= in_flight_at_kill
        assert all(r.channel == Channel.mp_custom for r in unknown)
        assert all(r.reason for r in unknown)
        resent = [r for r in rows if r.channel in (Channel.work_app, Channel.mp_template) and r.attempts > 1]
        assert unknown or resent, "the victim held no rows when it died: nothing was recovered"
        assert survivor.proc.poll() is None
    finally:
        for instance in instances:
            instance.stop()
        await emulator.stop()
