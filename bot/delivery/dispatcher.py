"""The dispatcher (DESIGN.md §4): claims due outbox rows, sends them, and settles every row.

One round: claim up to `batch` due rows in one short transaction (in flight, with a lease), send them
(WeCom rows of one notice in one call with WeCom's duplicate check; MP rows one call each, at most
`concurrency` calls in flight), then settle all rows in one transaction: sent, retry (transient, rate
or token errors, with back-off and jitter), fell back (a row for the next channel is written), or
failed with a readable reason. A row is settled only after its send returned; a dispatcher that dies
leaves its rows in flight and another claims them when the lease runs out.
"""

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.db import SessionFactory
from bot.delivery.channels import (
    WORK_MAX_DEDUPE_SECONDS,
    MpCustomChannel,
    MpTemplateChannel,
    RobotChannel,
    SendOutcome,
    WorkAppChannel,
)
from bot.delivery.errors import ErrorClass, backoff
from bot.delivery.fallback import add_fallback_row, load_recipients
from bot.wechat.api import WeChatApi
from handlers.links import notice_url
from models.audience import Recipient
from models.channel_plan import ChannelChoice, next_choice
from models.clock import utcnow
from models.delivery import Channel, Delivery, DeliveryStatus, any_due, claim_due, recover_expired
from models.notice import Notice

log = logging.getLogger(__name__)

RETRY_CLASSES = frozenset({ErrorClass.transient, ErrorClass.rate, ErrorClass.token})
TITLE_MAX = 20  # a template field holds about 20 characters (WECHAT.md)
MIN_RETRY_SECONDS = 1.0  # full jitter may draw 0: keep a retry strictly in the future
INTERNAL_ERROR = "发送时出现内部错误，稍后重试"


@dataclass(frozen=True, slots=True)
class _Sent:
    row: Delivery
    outcome: SendOutcome


def _title_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "通知")
    return first[:TITLE_MAX]


def _internal_failure(recipient: str) -> SendOutcome:
    return SendOutcome(recipient, False, ErrorClass.transient, None, INTERNAL_ERROR)


class Dispatcher:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        api: WeChatApi,
        public_url: str,
        secret: str = "",
        template_id: str = "TPL_NOTICE",
        batch: int = 200,
        concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.public_url = public_url.rstrip("/")
        self.secret = secret
        self.template_id = template_id
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()
        self._limit = asyncio.Semaphore(concurrency)
        self.work = WorkAppChannel(api)
        self.custom = MpCustomChannel(api)
        self.template = MpTemplateChannel(api)
        self.robot = RobotChannel(api)

    # One round

    async def run_once(self) -> int:
        """Claims, sends and settles one batch; the number of rows settled (0: nothing was due)."""
        async with self.sessions() as session:
            if not await any_due(session=session):
                return 0
            await recover_expired(session=session)
            rows = await claim_due(session=session, limit=self.batch, lease=self.lease)
            await session.commit()
        if not rows:
            return 0
        async with self.sessions() as session:
            notice_ids = sorted({r.notice_id for r in rows})
            texts = dict(
                (await session.exec(select(Notice.id, Notice.text).where(col(Notice.id).in_(notice_ids)))).all()
            )
        results = await self._send_all(rows, texts)  # type: ignore[arg-type]
        return await self._settle(results)

    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Rounds until `stop` is set; waits `idle` seconds when nothing was due; never dies of a fault."""
        while not stop.is_set():
            try:
                settled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery round failed; trying again")
                settled = 0
            if settled == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle)
                except TimeoutError:
                    pass

    # Sending

    async def _send_all(self, rows: list[Delivery], texts: dict[int, str]) -> list[_Sent]:
        jobs: list[Awaitable[list[_Sent]]] = []
        # WeCom rows carrying the same text go in one call; robot rows of one group in one message.
        work: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
        robot: dict[tuple[int, str, str], list[Delivery]] = defaultdict(list)
        now = utcnow()
        for row in rows:
            text = row.body or texts.get(row.notice_id, "")
            if row.channel == Channel.work_app:
                work[(row.notice_id, text)].append(row)
            elif row.channel == Channel.robot:
                robot[(row.notice_id, row.recipient, text)].append(row)
            elif row.channel == Channel.mp_custom:
                jobs.append(self._guarded([row], lambda r=row, t=text: self.custom.send(r.recipient, t)))
            else:
                jobs.append(self._guarded([row], lambda r=row, t=text: self._send_template(r, t, now)))
        for (_, text), group in work.items():
            userids = [r.recipient for r in group]
            jobs.append(
                self._guarded(
                    group,
                    lambda u=userids, t=text: self.work.send(u, t, dedupe_seconds=WORK_MAX_DEDUPE_SECONDS),
                )
            )
        for (_, key, text), group in robot.items():
            jobs.append(self._guarded(group, lambda k=key, t=text: self.robot.send(k, t)))
        results: list[_Sent] = []
        for part in await asyncio.gather(*jobs):
            results.extend(part)
        return results

    async def _send_template(self, row: Delivery, text: str, now: datetime) -> list[SendOutcome]:
        title = _title_of(text)
        local = now.astimezone(self.api.settings.tz).strftime("%Y-%m-%d %H:%M")
        return await self.template.send(
            row.recipient,
            template_id=self.template_id,
            title=title,
            url=notice_url(self.public_url, self.secret, row.notice_id, row.person_id),
            fields={"title": title, "time": local},
        )

    async def _guarded(self, rows: list[Delivery], send: Callable[[], Awaitable[list[SendOutcome]]]) -> list[_Sent]:
        """One call, within the concurrency limit; each row matched with its recipient's outcome.
        Channels do not raise for WeChat or network errors; anything else counts as transient."""
        async with self._limit:
            try:
                outcomes = await send()
            except Exception:
                log.exception("send of %d delivery rows raised", len(rows))
                outcomes = []
        by_recipient = {o.recipient: o for o in outcomes}
        by_folded = {o.recipient.casefold(): o for o in outcomes}
        return [
            _Sent(
                row,
                by_recipient.get(row.recipient)
                or by_folded.get(row.recipient.casefold())
                or _internal_failure(row.recipient),
            )
            for row in rows
        ]

    # Settling

    async def _settle(self, results: list[_Sent]) -> int:
        now = utcnow()
        settled = 0
        async with self.sessions() as session:
            falling = [s for s in results if not s.outcome.ok and s.outcome.error_class not in RETRY_CLASSES]
            people = await load_recipients(session=session, person_ids=(s.row.person_id for s in falling), now=now)
            for item in results:
                values, fallback = self._outcome(item, people)
                row = item.row
                result = await session.exec(  # type: ignore[call-overload]
                    update(Delivery)
                    .where(
                        col(Delivery.id) == row.id,
                        # Still our claim, not a later one. A slow send whose lease ran out was settled as
                        # unknown by another dispatcher; its real outcome is better than unknown.
                        col(Delivery.status).in_([DeliveryStatus.in_flight, DeliveryStatus.unknown]),
                        col(Delivery.attempts) == row.attempts,
                    )
                    .values(lease_until=None, **values)
                )
                if result.rowcount != 1:
                    continue  # the lease ran out and another dispatcher took the row: it settles it
                settled += 1
                if fallback is not None:
                    await add_fallback_row(
                        session=session,
                        failed=row,
                        channel=fallback.channel,  # type: ignore[arg-type]
                        recipient=fallback.recipient,
                        reason=fallback.reason,
                        now=now,
                    )
            await session.commit()
        return settled

    def _outcome(self, item: _Sent, people: dict[int, Recipient]) -> tuple[dict[str, object], ChannelChoice | None]:
        """The row's new values, and the next channel's choice when it falls back."""
        row, outcome = item.row, item.outcome
        now = utcnow()
        if outcome.ok:
            return {"status": DeliveryStatus.sent, "sent_at": now, "errcode": 0}, None
        reason = outcome.reason[:300]
        failed = {"status": DeliveryStatus.failed, "errcode": outcome.errcode, "reason": reason}
        if outcome.error_class in RETRY_CLASSES:
            if row.attempts >= self.max_attempts:
                return failed, None
            delay = max(MIN_RETRY_SECONDS, backoff(row.attempts, rng=self.rng))
            retry = {
                "status": DeliveryStatus.retry,
                "next_attempt_at": now + timedelta(seconds=delay),
                "errcode": outcome.errcode,
                "reason": reason,
            }
            return retry, None
        person = people.get(row.person_id)
        choice = next_choice(person, row.channel) if person is not None else None
        if choice is None or choice.channel is None or choice.channel == row.channel:
            return failed, None
        fell_back = {"status": DeliveryStatus.fell_back, "errcode": outcome.errcode, "reason": reason}
        return fell_back, ChannelChoice(choice.channel, choice.recipient, f"{reason}；{choice.reason}")
