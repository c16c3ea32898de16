"""The dispatcher (DESIGN.md §4): claims due outbox rows, sends them, and settles every row.

One round: claim up to `batch` due rows in one short transaction (in flight, with a lease), then send
them with at most `concurrency` requests out at a time (WeCom rows of one text in one call with
WeCom's duplicate check; MP rows one call each; a robot's rows of one message in one call). Before
requests go, one transaction records the answers that came in since the last one (sent, retry with
back-off and jitter, fell back with the next channel's row written, or failed with a readable
reason) and marks the new requests' rows `sending`. So a dispatcher that dies leaves at most
`concurrency` requests whose rows may have reached WeChat unrecorded; the rest of its claim was
never sent and is claimed again when the lease runs out (models/outbox.recover_expired), and every
answer it got before its last commit was recorded.
"""

import asyncio
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from functools import partial

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
)
from bot.delivery.digest import Digest, digest_text, digest_title, split_digests
from bot.delivery.errors import ErrorClass, backoff
from bot.delivery.limits import Limits, MpGate, over_member_limits, over_robot_limits
from bot.delivery.meeting_day import split_meeting_days
from bot.delivery.reports import apply_waiting_reports
from bot.wechat.api import WeChatApi
from handlers.links import notice_url
from models.audience import Recipient, load_recipients
from models.channel_plan import ChannelChoice, next_choice
from models.clock import utcnow
from models.delivery import IDEMPOTENCY_WINDOWS, RESEND_MARGIN, Channel, Delivery, DeliveryStatus, any_due
from models.meeting_reminders import stale_reminders
from models.message_frame import Frame, plain_template_fields, render_text, template_fields
from models.outbox import (
    Hold,
    claim_due,
    drop_claimed,
    hold_rows,
    mark_sending,
    recover_expired,
    settle_claimed,
    settle_fallen_back,
)
from models.person import Person
from models.subject import Subject, SubjectKind
from models.subject_texts import SubjectText, subject_texts
from models.typed import col_not_none, id_of

log = logging.getLogger(__name__)

RETRY_CLASSES = frozenset({ErrorClass.transient, ErrorClass.rate, ErrorClass.token})
MIN_RETRY_SECONDS = 1.0  # full jitter may draw 0: keep a retry strictly in the future
INTERNAL_ERROR = "发送时出现内部错误，稍后重试"
# After the first answer, how long to collect more (up to half the slots) before the commit that records
# them: fewer commits, while the slots still in flight keep WeChat busy.
GATHER_SECONDS = 0.05
# A template row's retries stay inside its client_msg_id window; past it, a repeat could arrive twice.
TEMPLATE_WINDOW_SPENT = "模板消息多次发送未获答复，可能已送达；为免重复未再发送"


@dataclass(frozen=True, slots=True)
class _Sent:
    row: Delivery
    outcome: SendOutcome
    digest: int | None = None  # the id of the digest the row went out in (digest.py)
    robot_message: int | None = None  # the id of the group robot message the row went out in


Send = Callable[[list[Delivery]], Awaitable[list[SendOutcome]]]


@dataclass(slots=True)
class _Job:
    """One request: its rows, and how to send it for the rows that were marked."""

    rows: list[Delivery]
    send: Send
    mp: bool = False  # an Official Account call: paced and paused by the MpGate
    digest_of: dict[int, int] = field(default_factory=dict)  # row id -> the digest it goes out in
    robot_message: int | None = None


RobotMessages = dict[tuple[Subject, str, str], list[Delivery]]  # (subject, key, text) -> rows of one message


@dataclass(frozen=True, slots=True)
class _Texts:
    """What each row says: its own body (a reminder, a list), or its subject's frame rendered as text
    (models/message_frame.py). A row to the secretary of a task's target organisation is also told
    how to pass it down."""

    subjects: dict[Subject, SubjectText]
    tz: tzinfo | None

    def frame(self, row: Delivery) -> Frame | None:
        info = self.subjects.get(row.subject)
        return info.frame_for(passes_down=row.org_id is not None) if info is not None and not row.body else None

    def of(self, row: Delivery, link: str | None = None) -> str:
        frame = self.frame(row)
        if frame is None:
            return row.body or ""
        return render_text(frame, tz=self.tz, link=link)


def _robot_messages(rows: list[Delivery], texts: _Texts) -> RobotMessages:
    """Robot rows of one subject, key and text are one group message @-mentioning their people."""
    messages: RobotMessages = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.id or 0):
        if row.channel == Channel.robot:
            messages[(row.subject, row.recipient, texts.of(row))].append(row)
    return messages


def _only(job: _Job, marked: set[int]) -> _Job | None:
    """The job for its marked rows; None when none is (their lease ran out: another dispatcher has them)."""
    rows = [row for row in job.rows if row.id in marked]
    if len(rows) == len(job.rows):
        return job
    return replace(job, rows=rows) if rows else None


def _internal_failure(recipient: str) -> SendOutcome:
    return SendOutcome(recipient, False, ErrorClass.transient, None, INTERNAL_ERROR)


async def _phones(session: AsyncSession, rows: list[Delivery]) -> dict[int, str | None]:
    """The mobiles robot messages @-mention, by person."""
    people = sorted({r.person_id for r in rows if r.channel == Channel.robot})
    if not people:
        return {}
    found = await session.exec(select(col_not_none(Person.id), Person.phone).where(col(Person.id).in_(people)))
    return dict(found.all())


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
        before_wave: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.sessions = sessions
        # Awaited before each wave of requests: the callbacks this process is answering go first.
        self.before_wave = before_wave
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
        self.concurrency = max(1, concurrency)  # requests of one wave
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
            await recover_expired(session=session)
            rows = await claim_due(session=session, limit=self.batch, lease=self.lease)
            await session.commit()
        if not rows:
            return 0
        dropped = 0
        async with self.sessions() as session:
            stale = await stale_reminders(session=session, rows=rows, now=utcnow())
            if stale:  # recorded as not sent, with why
                for reason, dropping in stale.items():
                    dropped += await drop_claimed(session=session, rows=dropping, reason=reason)
                await session.commit()
                stale_ids = {r.id for dropping in stale.values() for r in dropping}
                rows = [r for r in rows if r.id not in stale_ids]
                if not rows:
                    return dropped
            notices = await subject_texts(session=session, subjects={r.subject for r in rows})
            texts = _Texts(notices, self.api.settings.tz)
            held = await self._hold_over_limits(session, rows, texts)
            phones = await _phones(session, rows)
        held_ids = {h.row.id for h in held}
        rows = [r for r in rows if r.id not in held_ids]
        jobs = self._jobs(rows, texts, phones, notices if self.digest else None)
        return dropped + len(held) + await self._send_in_waves(jobs)

    async def _hold_over_limits(
        self, session: AsyncSession, rows: list[Delivery], texts: _Texts
    ) -> list[Hold]:
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

    # Waves

    async def _send_in_waves(self, jobs: list[_Job]) -> int:
        """The requests, at most `concurrency` out at a time. Each time some have been answered, one
        transaction records their answers and marks the requests that take their places sending, so
        marked-and-unrecorded rows never exceed `concurrency` requests; a slow answer holds up only its
        own slot. Answers are collected for a moment (until half the slots answered, at most GATHER_SECONDS)."""
        queue, active, answered, settled = deque(jobs), set[asyncio.Task[list[_Sent]]](), list[_Sent](), 0
        while queue or active or answered:
            if self.before_wave is not None and queue:
                await self.before_wave()
            wave, holds = await self._next_wave(queue, self.concurrency - len(active))
            await self._tokens_ready(wave)
            marking = [row for job in wave for row in job.rows]
            async with self.sessions() as session:
                settled += await self._settle(session, answered)
                settled += await hold_rows(session=session, holds=holds)
                marked = await mark_sending(session=session, rows=marking, lease=self.lease)
                await session.commit()
            answered = []
            runnable = [job for job in (_only(job, marked) for job in wave) if job is not None]
            active.update(asyncio.create_task(self._run(job)) for job in runnable)
            if active:
                done, active = await self._some_answered(active)
                for task in done:
                    answered.extend(task.result())
        return settled

    async def _some_answered(
        self, active: set[asyncio.Task[list[_Sent]]]
    ) -> tuple[set[asyncio.Task[list[_Sent]]], set[asyncio.Task[list[_Sent]]]]:
        done, active = await asyncio.wait(active, return_when=asyncio.FIRST_COMPLETED)
        deadline = time.monotonic() + GATHER_SECONDS
        while active and len(done) < self.concurrency // 2:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            more, active = await asyncio.wait(active, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            done |= more
        return done, active

    async def _next_wave(self, queue: deque[_Job], free: int) -> tuple[list[_Job], list[Hold]]:
        """Up to `free` requests from the front of the queue. MP requests are asked of the gate first:
        held while MP is paused or paced too far out; a paced one waits for its slot here, before it is
        marked, or goes with the next commit."""
        wave: list[_Job] = []
        holds: list[Hold] = []
        while queue and len(wave) < free:
            job = queue[0]
            if job.mp:
                held = self.mp_gate.hold()
                if held is not None:
                    queue.popleft()
                    until = utcnow() + timedelta(seconds=held[0])
                    holds.extend(Hold(row, until, held[1]) for row in job.rows)
                    continue
                wait = self.mp_gate.wait()
                if wait > 0:
                    if wave:
                        break
                    await asyncio.sleep(wait)
                self.mp_gate.take()
            wave.append(queue.popleft())
        return wave, holds

    async def _tokens_ready(self, wave: list[_Job]) -> None:
        """The access tokens the wave needs, fetched before its rows are marked: a slow token call must
        not leave rows marked as sent that never left."""
        channels = {row.channel for job in wave for row in job.rows}
        apps = ([self.api.mp] if channels & {Channel.mp_custom, Channel.mp_template} else []) + (
            [self.api.work] if Channel.work_app in channels else [])
        for app in apps:
            try:
                await self.api.ready(app)
            except Exception as exc:  # the sends fail with a token error and are retried
                log.warning("no access token for %s before sending: %s", app.key, exc)

    async def _run(self, job: _Job) -> list[_Sent]:
        sent = await self._call(job.rows, partial(job.send, job.rows))
        if job.mp and any(s.outcome.error_class == ErrorClass.rate for s in sent):
            self.mp_gate.pause()
        if job.digest_of or job.robot_message is not None:
            sent = [replace(s, digest=job.digest_of.get(id_of(s.row)), robot_message=job.robot_message)
                    for s in sent]
        return sent

    # Requests

    def _jobs(
        self,
        rows: list[Delivery],
        texts: _Texts,
        phones: dict[int, str | None],
        notices: dict[Subject, SubjectText] | None = None,
    ) -> list[_Job]:
        """`notices` given (digests on): a person's non-urgent notices on one channel go as one digest.
        WeCom rows carrying the same text go in one call; robot rows of one group in one message."""
        now = utcnow()
        days, rows = split_meeting_days(rows)  # whether digests are on or not: one message a day's meetings
        jobs = self._digest_jobs(days, {}, now)
        if notices:
            digests, rows = split_digests(rows, notices)
            jobs.extend(self._digest_jobs(digests, notices, now))
        work: dict[tuple[Subject, str], list[Delivery]] = defaultdict(list)
        for row in rows:
            if row.channel == Channel.work_app:  # one call for many members: the text is the same for all
                work[(row.subject, texts.of(row))].append(row)
            elif row.channel == Channel.mp_custom:  # one call a person: a long text links their notice page
                text = texts.of(row, link=self._notice_link(row))
                jobs.append(_Job([row], partial(self._custom, text), mp=True))
            elif row.channel == Channel.mp_template:
                jobs.append(_Job([row], partial(self._template, texts.frame(row), row.body or "", now), mp=True))
        jobs.extend(_Job(group, partial(self._work, text)) for (_, text), group in work.items())
        for (_, key, text), group in _robot_messages(rows, texts).items():
            send = partial(self._robot, key, text, phones)
            jobs.append(_Job(group, send, robot_message=min(id_of(r) for r in group)))
        return jobs

    def _digest_jobs(self, digests: list[Digest], notices: dict[Subject, SubjectText], now: datetime) -> list[_Job]:
        """One message per digest; WeCom digests with the same text still go in one call for many users.
        Every merged row settles with the one send's outcome (matched by recipient in `_call`)."""
        jobs: list[_Job] = []
        work: dict[str, list[Digest]] = defaultdict(list)
        for digest in digests:
            text = digest.text or digest_text(digest.subjects, notices)
            marks = {id_of(row): digest.id for row in digest.rows}
            channel = digest.rows[0].channel
            if channel == Channel.work_app:
                work[text].append(digest)
            elif channel == Channel.mp_custom:
                jobs.append(_Job(digest.rows, partial(self._custom, text), mp=True, digest_of=marks))
            else:  # a template holds short fields and a link: the count, and the newest notice's page
                title = digest.title or digest_title(len(digest.rows))
                send = partial(self._template_digest, title, digest.client_msg_id, now,
                               digest.answer or "点开详情查看，并回复“收到”")
                jobs.append(_Job(digest.rows, send, mp=True, digest_of=marks))
        for text, group in work.items():
            marks = {id_of(row): d.id for d in group for row in d.rows}
            jobs.append(_Job([r for d in group for r in d.rows], partial(self._work, text), digest_of=marks))
        return jobs

    async def _custom(self, text: str, rows: list[Delivery]) -> list[SendOutcome]:
        return await self.custom.send(rows[0].recipient, text)

    async def _work(self, text: str, rows: list[Delivery]) -> list[SendOutcome]:
        userids = list(dict.fromkeys(r.recipient for r in rows))  # a digest's rows share one recipient
        return await self.work.send(userids, text, dedupe_seconds=WORK_MAX_DEDUPE_SECONDS)

    async def _robot(
        self, key: str, text: str, phones: dict[int, str | None], rows: list[Delivery]
    ) -> list[SendOutcome]:
        return await self.robot.send(key, text, mention_mobiles=[phones.get(r.person_id) or "" for r in rows])

    async def _template(
        self, frame: Frame | None, body: str, now: datetime, rows: list[Delivery]
    ) -> list[SendOutcome]:
        """A subject's frame in the template's keywords; a row's own text (a reminder) as its title."""
        row = rows[0]
        tz = self.api.settings.tz
        fields = (template_fields(frame, sent_at=now, tz=tz) if frame is not None
                  else plain_template_fields(body or "通知", sent_at=now, tz=tz))
        return await self._send_template(row, fields, client_msg_id=row.client_msg_id)

    async def _template_digest(
        self, title: str, client_msg_id: str, now: datetime, answer: str, rows: list[Delivery]
    ) -> list[SendOutcome]:
        fields = plain_template_fields(title, sent_at=now, tz=self.api.settings.tz, answer=answer)
        return await self._send_template(rows[-1], fields, client_msg_id=client_msg_id)

    def _notice_link(self, row: Delivery) -> str | None:
        """The person's page of the notice; a row about anything else (a 留言) has none."""
        if row.subject_kind != SubjectKind.notice:
            return None
        return notice_url(self.public_url(), self.secret, row.subject_id, row.person_id)

    async def _send_template(self, row: Delivery, fields: dict[str, str], *, client_msg_id: str) -> list[SendOutcome]:
        return await self.template.send(
            row.recipient, template_id=self.template_id, url=self._notice_link(row) or "", fields=fields,
            client_msg_id=client_msg_id,
        )

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

    async def _settle(self, session: AsyncSession, results: list[_Sent]) -> int:
        """A wave's answers, in the caller's transaction: sent, retry and failed rows in a few batched
        statements (settle_claimed); a row that falls back alone, so that its fallback row is written
        only when the update took. Delivery reports that overtook their send are applied last."""
        if not results:
            return 0
        now = utcnow()
        falling = [s for s in results if not s.outcome.ok and s.outcome.error_class not in RETRY_CLASSES]
        people = await load_recipients(session=session, person_ids={s.row.person_id for s in falling}, now=now)
        batched: list[tuple[int, int, dict[str, object]]] = []
        falling_back: list[tuple[_Sent, dict[str, object], ChannelChoice]] = []
        delays: dict[int, float] = {}
        for item in results:
            values, fallback = self._outcome(item, people, delays)
            if fallback is None:
                batched.append((id_of(item.row), item.row.attempts, values))
            else:
                falling_back.append((item, values, fallback))
        settled = len(await settle_claimed(session=session, outcomes=batched))
        for item, values, fallback in falling_back:
            settled += await settle_fallen_back(session=session, row=item.row, values=values,
                                                person=people[item.row.person_id], choice=fallback, now=now)
        reported = {(s.row.recipient, s.outcome.msgid) for s in results
                    if s.outcome.ok and s.row.channel == Channel.mp_template and s.outcome.msgid}
        await apply_waiting_reports(session=session, sent=reported, now=now)
        return settled

    def _outcome(
        self, item: _Sent, people: dict[int, Recipient], delays: dict[int, float] | None = None
    ) -> tuple[dict[str, object], ChannelChoice | None]:
        """The row's new values, and the next channel's choice when it falls back. `delays`: the retry
        delay drawn for each digest, so that its rows come due together again and merge once more."""
        row, outcome = item.row, item.outcome
        now = utcnow()
        if outcome.ok:
            return self._sent_values(item, now), None
        reason = outcome.reason[:300]
        failed: dict[str, object] = {"status": DeliveryStatus.failed, "errcode": outcome.errcode, "reason": reason}
        # No answer (a timeout, a lost connection): the request may have arrived. An answer, of any
        # class, says what happened, and a resend after it is harmless.
        unanswered_at = row.unanswered_at or (row.sending_at or now if outcome.errcode is None else None)
        if unanswered_at is not None and row.unanswered_at is None:
            failed["unanswered_at"] = unanswered_at
        if outcome.error_class in RETRY_CLASSES:
            if row.attempts >= self.max_attempts:
                return failed, None
            delay = max(MIN_RETRY_SECONDS, backoff(row.attempts, rng=self.rng))
            if item.digest and delays is not None:
                delay = delays.setdefault(item.digest, delay)
            retry_at = now + timedelta(seconds=delay)
            if row.channel == Channel.mp_template and unanswered_at is not None:
                # The resend must reach WeChat while the unanswered try's client_msg_id still drops a repeat.
                last = unanswered_at + IDEMPOTENCY_WINDOWS[Channel.mp_template] - RESEND_MARGIN
                if last <= now + timedelta(seconds=MIN_RETRY_SECONDS):
                    return {**failed, "status": DeliveryStatus.unknown, "reason": TEMPLATE_WINDOW_SPENT}, None
                retry_at = min(retry_at, last)
            return {**failed, "status": DeliveryStatus.retry, "next_attempt_at": retry_at}, None
        person = people.get(row.person_id)
        choice = next_choice(person, row.channel) if person is not None else None
        if choice is None or choice.channel is None or choice.channel == row.channel:
            return failed, None
        fell_back: dict[str, object] = {**failed, "status": DeliveryStatus.fell_back}
        return fell_back, ChannelChoice(choice.channel, choice.recipient, f"{reason}；{choice.reason}")

    @staticmethod
    def _sent_values(item: _Sent, now: datetime) -> dict[str, object]:
        """A sent row, with what WeChat answered (each in its own column) and the message it went in."""
        row, msgid = item.row, item.outcome.msgid[:64] if item.outcome.msgid else None
        values: dict[str, object] = {"status": DeliveryStatus.sent, "sent_at": now, "errcode": 0}
        if row.channel == Channel.mp_template:
            values["template_msgid"] = msgid  # its TEMPLATESENDJOBFINISH report finds the row by it
        elif row.channel == Channel.work_app:
            values["work_msgid"] = msgid
        if item.digest is not None:
            values["digest_id"] = item.digest
        if item.robot_message is not None:
            values["robot_message_id"] = item.robot_message  # the robot's rate limit counts messages
        return values
