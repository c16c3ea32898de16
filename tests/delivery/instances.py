"""`grassroots serve` instances as separate processes on one PostgreSQL database and one emulated
WeChat, for the tests that kill one with `kill -9`; a district to send to; and polls of the outbox."""

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

REPO = Path(__file__).resolve().parents[2]
GRASSROOTS = Path(sys.executable).parent / "grassroots"
LEASE_SECONDS = 5
TEXT = "防汛紧急通知\n今晚有强降雨，请各位党员留意社区群消息，做好防汛准备。"
OPEN = [DeliveryStatus.pending, DeliveryStatus.in_flight, DeliveryStatus.sending, DeliveryStatus.retry]
PLATFORM_OF = {Channel.work_app: "work", Channel.mp_custom: "mp", Channel.mp_template: "mp"}

# How each member is reached, interleaved so that every claimed batch holds some of each: WeCom, an MP
# user who wrote within 48 hours, one who did not, and one whose window closed since (our database says
# open, WeChat answers 45015 and the template is the fallback).
Kind = Callable[[int], str]


def four_kinds(i: int) -> str:
    return ("work", "window", "template", "stale")[i % 4]


def userid(i: int) -> str:
    return f"member{i:04d}"


def openid(i: int) -> str:
    return f"o_member{i:04d}"


async def seed_district(sessions: SessionFactory, config: EmulatorConfig, total: int, kind: Kind) -> tuple[int, int]:
    """A district with eight branches and `total` members. Returns (district id, the secretary's id)."""
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
        people = [Person(name=f"党员{i:04d}", kind=PersonKind.member) for i in range(total)]
        s.add_all(people)
        await s.flush()
        for i, person in enumerate(people):
            s.add(Membership(person_id=person.id, org_id=branches[i % 8].id, is_primary=True))  # type: ignore[arg-type]
            if kind(i) == "work":
                s.add(Identity(platform=Platform.work, app_id=config.work_corpid, external_id=userid(i),
                               person_id=person.id))
                continue
            s.add(Identity(platform=Platform.mp, app_id=config.mp_appid, external_id=openid(i), person_id=person.id))
            if kind(i) in ("window", "stale"):  # wrote to the Official Account an hour ago
                s.add(InboundMessage(dedupe_key=f"seed-{i}", platform="mp", from_user=openid(i), msg_type="text",
                                     content="你好", received_at=now - timedelta(hours=1),
                                     status=InboundStatus.replied))
        await s.commit()
        return district.id, people[0].id  # type: ignore[return-value]


def register_district(emulator: Emulator, total: int, kind: Kind) -> None:
    for i in range(total):
        if kind(i) == "work":
            emulator.register_user("work", userid(i))
        else:
            emulator.register_user("mp", openid(i), interacted=kind(i) == "window")


async def queue_notice(sessions: SessionFactory, district_id: int, author_id: int) -> tuple[int, int]:
    """王书记's notice to every member of the district, confirmed and queued. Returns (id, rows)."""
    async with sessions() as s:
        people = await recipients_for(session=s, org_ids=[district_id], who=[Who.members])
        notice = Notice(org_id=district_id, author_person_id=author_id, text=TEXT, status=NoticeStatus.confirmed,
                        confirmed_at=utcnow())
        s.add(notice)
        await s.flush()
        assert notice.id is not None
        queued = await queue_messages(session=s, subject=Subject.notice(notice.id), recipients=people,
                                      not_before=utcnow())
        await s.commit()
        return notice.id, queued.rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    """One `grassroots serve` process on its own port, its log in a file."""

    def __init__(self, name: str, database_url: str, emulator: Emulator, folder: Path,
                 **settings: str) -> None:
        self.name = name
        self.port = free_port()
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
            **settings,
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


async def statuses(sessions: SessionFactory) -> Counter[str]:
    async with sessions() as s:
        rows = await s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))  # type: ignore[call-overload]
        return Counter({str(status): n for status, n in rows})


async def until(done: Callable[[Counter[str]], bool], sessions: SessionFactory, within: float) -> bool:
    """Polls the outbox's status counts until `done` holds (True) or `within` seconds pass (False)."""
    deadline = time.monotonic() + within
    for _ in range(int(within / 0.1) + 1):
        if done(await statuses(sessions)):
            return True
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return False


async def delivered(emulator: Emulator) -> Counter[tuple[str, str]]:
    """(platform, recipient) of every message WeChat delivered, with how often."""
    messages = emulator.messages()
    return Counter((m.platform, m.recipient) for m in messages if m.delivered and m.platform in ("mp", "work"))


async def rows_of(sessions: SessionFactory, notice_id: int) -> list[Delivery]:
    async with sessions() as s:
        return list(await s.exec(select(Delivery).where(Delivery.subject_id == notice_id)))


async def check_every_member_once(sessions: SessionFactory, emulator: Emulator, notice_id: int) -> list[Delivery]:
    """After a crash and recovery: every row settled, nobody got the notice twice, every member got it
    except those whose row is unknown (their request was out when the sender died: it may have
    arrived), every answered 45015 fell back to a template that was sent. Returns the unknown rows."""
    await emulator.drain()
    rows = await rows_of(sessions, notice_id)
    by_status = Counter(r.status for r in rows)
    assert not [r for r in rows if r.status in OPEN], f"rows still open: {by_status}"
    assert set(by_status) <= {DeliveryStatus.sent, DeliveryStatus.unknown, DeliveryStatus.fell_back}, by_status

    got = await delivered(emulator)
    twice = {who: n for who, n in got.items() if n > 1}
    assert not twice, f"received the notice more than once: {twice}"

    sent = {(PLATFORM_OF[r.channel], r.recipient) for r in rows if r.status == DeliveryStatus.sent}
    unknown = [r for r in rows if r.status == DeliveryStatus.unknown]
    unknown_keys = {(PLATFORM_OF[r.channel], r.recipient) for r in unknown}
    assert sent <= set(got), "a row counted as sent but WeChat never delivered it"
    assert set(got) - sent <= unknown_keys, "a delivered message whose row is not sent"
    reached = {r.person_id for r in rows if r.status in (DeliveryStatus.sent, DeliveryStatus.unknown)}
    assert reached == {r.person_id for r in rows}, "a member who got nothing and is not counted unknown"
    # Only a customer-service request can end unknown: WeCom and template rows were sent again, under
    # WeCom's duplicate check and the template's client_msg_id, which dropped what had already arrived.
    assert all(r.channel == Channel.mp_custom and r.reason for r in unknown)
    for row in rows:
        if row.status == DeliveryStatus.fell_back:
            assert row.errcode == 45015 and any(
                r.person_id == row.person_id and r.channel == Channel.mp_template and r.status == DeliveryStatus.sent
                for r in rows), f"the fallback of {row.recipient} was not sent"
    return unknown
