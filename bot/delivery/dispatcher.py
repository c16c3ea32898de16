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
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from bot.delivery.channels import (
    WORK_MAX_DEDUPE_SECONDS,
    MpCustomChannel,
    MpTemplateChannel,
    RobotChannel,
    SendOutcome,
    WorkAppChannel,
    robot_msgid,
)
from bot.delivery.digest import Digest, NoticeInfo, digest_text, digest_title, split_digests
from bot.delivery.errors import ErrorClass, backoff
from bot.delivery.fallback import add_fallback_row, load_recipients
from bot.delivery.limits import Hold, Limits, MpGate, hold_rows, over_member_limits, over_robot_limits
from bot.wechat.api import WeChatApi
from handlers.links import notice_url
from models.audience import Recipient
from models.channel_plan import ChannelChoice, next_choice
from models.clock import utcnow
from models.delivery import (
    Channel,
    Delivery,
    DeliveryStatus,
    any_due,
    claim_due,
    recover_expired,
    settle_claimed,
)
from models.notice import Notice, Urgency
from models.person import Person

log = logging.getLogger(__name__)

RETRY_CLASSES = frozenset({ErrorClass.transient, ErrorClass.rate, ErrorClass.token})
TITLE_MAX = 20  # a template field holds about 20 characters (WECHAT.md)
MIN_RETRY_SECONDS = 1.0  # full jitter may draw 0: keep a retry strictly in the future
INTERNAL_ERROR = "发送时出现内部错误，稍后重试"


@dataclass(frozen=True, slots=True)
class _Sent:
    row: Delivery
    outcome: SendOutcome
    held: tuple[float, str] | None = None  # not sent: MP is paused or paced (seconds to wait, reason)
    digest: str | None = None  # the marker of the digest the row went out in (digest.py)


RobotMessages = dict[tuple[int, str, str], list[Delivery]]  # (notice, key, text) -> rows of one message


def _robot_messages(rows: list[Delivery], texts: dict[int, str]) -> RobotMessages:
    """Robot rows of one notice, key and text are one group message @-mentioning their people."""
    messages: RobotMessages = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.id or 0):
        if row.channel == Channel.robot:
            messages[(row.notice_id, row.recipient, row.body or texts.get(row.notice_id, ""))].append(row)
    return messages


def _title_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "通知")
    return first[:TITLE_MAX]


def _internal_failure(recipient: str) -> SendOutcome:
    return SendOutcome(recipient, False, ErrorClass.transient, None, INTERNAL_ERROR)


async def _phones(session: AsyncSession, rows: list[Delivery]) -> dict[int, str | None]:
    """The mobiles robot messages @-mention, by person."""
    people = sorted({r.person_id for r in rows if r.channel == Channel.robot})
    if not people:
        return {}
    found = await session.exec(select(Person.id, Person.phone).where(col(Person.id).in_(people)))
    return dict(found.all())  # type: ignore[arg-type]


class Dispatcher:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        api: WeChatApi,
        public_url: str | None = None,
        secret: str = "",
        template_id: str = "TPL_NOTICE",
        batch: int = 200,
        concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        rng: random.Random | None = None,
        limits: Limits | None = None,
        digest: bool | None = None,
    ) -> None:
        self.sessions = sessions
        self.api = api
        # None: the service's own settings, read at send time (the demo and the tests learn their port,
        # and so the public URL, only after the app has started).
        self._public_url = public_url
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
        self.limits = limits or Limits.from_settings(api.settings)
        # Digests (GRASSROOTS_DIGEST_MINUTES > 0): a person's non-urgent notices of one round in one message.
        self.digest = digest if digest is not None else api.settings.digest_minutes > 0
        # Pacing may wait a little with rows in flight, never long enough to threaten the lease.
        self.mp_gate = MpGate(self.limits, max_wait=min(5.0, lease.total_seconds() / 4))

    # One round

    async def run_once(self) -> int:
        """Claims, sends and settles one batch; the number of rows settled (0: nothing was due)."""
        async with self.sessions() as session:
            if not await any_due(session=session):
                return 0
            await recover_expired(session=session, lease=self.lease)
            rows = await claim_due(session=session, limit=self.batch, lease=self.lease)
            await session.commit()
        if not rows:
            return 0
        async with self.sessions() as session:
            notice_ids = sorted({r.notice_id for r in rows})
            found = await session.exec(
                select(Notice.id, Notice.text, Notice.urgency, Notice.wants_receipt).where(
                    col(Notice.id).in_(notice_ids)
                )
            )
            notices = {n: NoticeInfo(text, urgency == Urgency.urgent, receipt) for n, text, urgency, receipt in found}
            texts = {n: info.text for n, info in notices.items()}
            held = await self._hold_over_limits(session, rows, texts)  # type: ignore[arg-type]
            phones = await _phones(session, rows)
        held_ids = {h.row.id for h in held}
        rows = [r for r in rows if r.id not in held_ids]
        results = await self._send_all(rows, texts, phones, notices if self.digest else None)  # type: ignore[arg-type]
        now = utcnow()
        gated = [Hold(s.row, now + timedelta(seconds=s.held[0]), s.held[1]) for s in results if s.held]
        if gated:
            async with self.sessions() as session:
                await hold_rows(session=session, holds=gated)
                await session.commit()
        return len(held) + len(gated) + await self._settle([s for s in results if not s.held])

    async def _hold_over_limits(self, session: AsyncSession, rows: list[Delivery], texts: dict[int, str]) -> list[Hold]:
        """Rows over a WeCom member's or a robot's budget go back to retry before anything is sent."""
        now = utcnow()
        held = await over_member_limits(session=session, rows=rows, limits=self.limits, now=now)
        messages = ((key, group) for (_, key, _), group in _robot_messages(rows, texts).items())
        held += await over_robot_limits(session=session, messages=messages, limits=self.limits, now=now)
        if held:
            await hold_rows(session=session, holds=held)
            await session.commit()
        return held

    def public_url(self) -> str:
        return (self._public_url or self.api.settings.public_url).rstrip("/")

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

    async def _send_all(
        self,
        rows: list[Delivery],
        texts: dict[int, str],
        phones: dict[int, str | None] | None = None,
        notices: dict[int, NoticeInfo] | None = None,
    ) -> list[_Sent]:
        """`notices` given (digests on): a person's non-urgent notices on one channel go as one digest."""
        jobs: list[Awaitable[list[_Sent]]] = []
        if notices:
            digests, rows = split_digests(rows, notices)
            jobs.extend(self._digest_jobs(digests, notices))
        # WeCom rows carrying the same text go in one call; robot rows of one group in one message.
        work: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
        robot = _robot_messages(rows, texts)
        phones = phones or {}
        now = utcnow()
        for row in rows:
            text = row.body or texts.get(row.notice_id, "")
            if row.channel == Channel.work_app:
                work[(row.notice_id, text)].append(row)
            elif row.channel == Channel.mp_custom:
                jobs.append(self._send_mp([row], lambda r=row, t=text: self.custom.send(r.recipient, t)))
            elif row.channel == Channel.mp_template:
                jobs.append(self._send_mp([row], lambda r=row, t=text: self._send_template(r, t, now)))
        for (_, text), group in work.items():
            userids = [r.recipient for r in group]
            jobs.append(
                self._guarded(
                    group,
                    lambda u=userids, t=text: self.work.send(u, t, dedupe_seconds=WORK_MAX_DEDUPE_SECONDS),
                )
            )
        for (_, key, text), group in robot.items():
            mobiles = [phones.get(r.person_id) or "" for r in group]
            jobs.append(
                self._guarded(
                    group,
                    lambda k=key, t=text, m=mobiles: self.robot.send(  # type: ignore[misc]
                        k, t, mention_mobiles=m, msgid=robot_msgid(k, utcnow())
                    ),
                )
            )
        results: list[_Sent] = []
        for part in await asyncio.gather(*jobs):
            results.extend(part)
        return results

    def _digest_jobs(self, digests: list[Digest], notices: dict[int, NoticeInfo]) -> list[Awaitable[list[_Sent]]]:
        """One message per digest; WeCom digests with the same text still go in one call for many users.
        Every merged row settles with the one send's outcome (matched by recipient in `_call`)."""
        jobs: list[Awaitable[list[_Sent]]] = []
        work: dict[str, list[Digest]] = defaultdict(list)
        now = utcnow()
        for digest in digests:
            text = digest_text(digest.notice_ids, notices)
            channel, recipient = digest.rows[0].channel, digest.rows[0].recipient
            if channel == Channel.work_app:
                work[text].append(digest)
            elif channel == Channel.mp_custom:
                send = self._send_mp(digest.rows, lambda r=recipient, t=text: self.custom.send(r, t))
                jobs.append(self._marked(send, [digest]))
            else:  # a template holds a title and a link: the count, and the newest notice's page
                newest = digest.rows[-1]
                title = digest_title(len(digest.rows))
                send = self._send_mp(
                    digest.rows, lambda r=newest, t=title: self._send_template(r, t, now, title=t)
                )
                jobs.append(self._marked(send, [digest]))
        for text, group in work.items():
            userids = [d.rows[0].recipient for d in group]
            send = self._guarded(
                [r for d in group for r in d.rows],
                lambda u=userids, t=text: self.work.send(u, t, dedupe_seconds=WORK_MAX_DEDUPE_SECONDS),
            )
            jobs.append(self._marked(send, group))
        return jobs

    @staticmethod
    async def _marked(send: Awaitable[list[_Sent]], digests: list[Digest]) -> list[_Sent]:
        marker = {row.id: d.marker for d in digests for row in d.rows}
        return [replace(s, digest=marker.get(s.row.id)) for s in await send]

    async def _send_template(
        self, row: Delivery, text: str, now: datetime, *, title: str | None = None
    ) -> list[SendOutcome]:
        title = title or _title_of(text)
        local = now.astimezone(self.api.settings.tz).strftime("%Y-%m-%d %H:%M")
        return await self.template.send(
            row.recipient,
            template_id=self.template_id,
            title=title,
            url=notice_url(self.public_url(), self.secret, row.notice_id, row.person_id),
            fields={"title": title, "time": local},
        )

    async def _send_mp(self, rows: list[Delivery], send: Callable[[], Awaitable[list[SendOutcome]]]) -> list[_Sent]:
        """One MP call (for one row, or a digest's rows of one person) unless MP sends are paused
        (45011 earlier) or paced; a rate error pauses them."""
        async with self._limit:
            held = await self.mp_gate.admit()
            if held is not None:
                return [_Sent(row, _internal_failure(row.recipient), held) for row in rows]
            sent = await self._call(rows, send)
        if any(s.outcome.error_class == ErrorClass.rate for s in sent):
            self.mp_gate.pause()
        return sent

    async def _guarded(self, rows: list[Delivery], send: Callable[[], Awaitable[list[SendOutcome]]]) -> list[_Sent]:
        """One call, within the concurrency limit."""
        async with self._limit:
            return await self._call(rows, send)

    async def _call(self, rows: list[Delivery], send: Callable[[], Awaitable[list[SendOutcome]]]) -> list[_Sent]:
        """Each row matched with its recipient's outcome. Channels do not raise for WeChat or network
        errors; anything else counts as transient."""
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
        """The round's outcomes in one transaction: sent, retry and failed rows in a few batched
        statements (settle_claimed); a row that falls back alone, so that its fallback row is written
        only when the update took."""
        now = utcnow()
        async with self.sessions() as session:
            falling = [s for s in results if not s.outcome.ok and s.outcome.error_class not in RETRY_CLASSES]
            people = await load_recipients(session=session, person_ids=(s.row.person_id for s in falling), now=now)
            batched: list[tuple[int, int, dict[str, object]]] = []
            falling_back: list[tuple[_Sent, dict[str, object], ChannelChoice]] = []
            delays: dict[str, float] = {}
            for item in results:
                values, fallback = self._outcome(item, people, delays)
                if fallback is None:
                    batched.append((item.row.id, item.row.attempts, values))  # type: ignore[arg-type]
                else:
                    falling_back.append((item, values, fallback))
            settled = len(await settle_claimed(session=session, outcomes=batched))
            for item, values, fallback in falling_back:
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

    def _outcome(
        self, item: _Sent, people: dict[int, Recipient], delays: dict[str, float] | None = None
    ) -> tuple[dict[str, object], ChannelChoice | None]:
        """The row's new values, and the next channel's choice when it falls back. `delays`: the retry
        delay drawn for each digest, so that its rows come due together again and merge once more."""
        row, outcome = item.row, item.outcome
        now = utcnow()
        if outcome.ok:
            # The msgid: a template's report (TEMPLATESENDJOBFINISH) finds its row by it, and a robot's
            # messages of the last minute are counted by it (limits.py). A digest's rows share one: the
            # template's real msgid (its report settles them all), else the digest's marker (for 收到).
            msgid = outcome.msgid[:64] if outcome.msgid else None
            if item.digest and (row.channel != Channel.mp_template or msgid is None):
                msgid = item.digest
            return {"status": DeliveryStatus.sent, "sent_at": now, "errcode": 0, "msgid": msgid}, None
        reason = outcome.reason[:300]
        failed = {"status": DeliveryStatus.failed, "errcode": outcome.errcode, "reason": reason}
        if outcome.error_class in RETRY_CLASSES:
            if row.attempts >= self.max_attempts:
                return failed, None
            delay = max(MIN_RETRY_SECONDS, backoff(row.attempts, rng=self.rng))
            if item.digest and delays is not None:
                delay = delays.setdefault(item.digest, delay)
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
