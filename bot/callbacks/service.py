"""The callback pipeline after the request is verified: dedupe, dispatch within the deadline, reply.

A retried callback (same dedupe key) never runs its handler twice: concurrent retries in this process
wait for the first one; retries that reach another process find the journal's row and its reply."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import select

from bot.callbacks.activity import CallbackActivity
from bot.callbacks.eager import start_eagerly
from bot.callbacks.journal import Claim, InboundJournal, claim_row
from bot.callbacks.parsing import dedupe_key, render_text_reply
from bot.db import SessionFactory
from bot.directory_cache import DirectoryCache
from bot.metrics import Metrics
from bot.settings import Settings
from handlers.context import Context, HotPath, Inbound
from handlers.replies import SYSTEM_BUSY
from handlers.routing import Finish, Found, HelpBook, Outcome, Reply, Router, find_handler, run_handler, written_out
from models.directory import SenderProfile
from models.inbound import InboundMessage, InboundStatus

log = logging.getLogger(__name__)
SUCCESS = "success"
# A duplicate that finds its first delivery still running polls for the reply this often.
DUPLICATE_POLL = 0.2
# A logged callback still unsettled after this many seconds belongs to a dead process (a live one
# settles or defers within the handler deadline).
ORPHAN_AFTER = 10.0
DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Answer:
    """The plaintext body for WeChat (reply XML or "success") and what happened, for metrics."""

    body: str
    outcome: str


class LateReplySender(Protocol):
    """Sends a reply that missed the callback deadline through the API."""

    async def send(self, msg: Inbound, text: str) -> None: ...


# WeChat's own events that are not the user's words (a template's delivery report): handled by the code
# they concern, logged for dedupe like any callback, answered "success".
PlatformEvent = Callable[[Inbound], Awaitable[None]]


def _outcome(text: Reply, failed: bool) -> str:
    return "error" if failed else ("replied" if text else "success")


class Duplicate(Exception):
    """The message was logged before (by another delivery of it): this one must do nothing."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("logged before")
        self.claim = claim


class _LogLater:
    """The log entry of a message whose route is pure or batched: written with its reply after the
    handler ran, unless something the handler does needs it first (`__call__`)."""

    def __init__(self, service: "CallbackService", key: str, msg: Inbound) -> None:
        self._service, self._key, self._msg = service, key, msg
        self.logged = False

    async def __call__(self) -> None:
        if self.logged:
            return
        claim = await self._service._log(self._key, self._msg)
        self.logged = True
        if not claim.new:
            raise Duplicate(claim)


class CallbackService:
    def __init__(
        self,
        *,
        settings: Settings,
        journal: InboundJournal,
        directory: DirectoryCache,
        sessions: SessionFactory,
        routers: Sequence[Router],
        help_book: HelpBook,
        late_sender: LateReplySender,
        metrics: Metrics,
        platform_events: Mapping[str, PlatformEvent] | None = None,
        hot: HotPath | None = None,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.directory = directory
        self.sessions = sessions
        self.routers = routers
        self.help_book = help_book
        self.late_sender = late_sender
        self.metrics = metrics
        self.platform_events = dict(platform_events or {})
        self.hot = hot
        self.tz = settings.tz
        self._inflight: dict[str, list[asyncio.Future[Answer]]] = {}
        self.activity = CallbackActivity()  # the dispatcher lets callbacks go first
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, msg: Inbound) -> Answer:
        self.activity.enter()
        try:
            return await self._handle(msg)
        finally:
            self.activity.leave()

    async def _handle(self, msg: Inbound) -> Answer:
        key = dedupe_key(msg)
        waiters = self._inflight.get(key)
        if waiters is not None:
            # A retry while the first delivery is still being handled here: wait for its answer.
            waiter: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            waiters.append(waiter)
            return Answer((await waiter).body, "duplicate")
        self._inflight[key] = waiters = []
        try:
            answer = await self._handle_once(key, msg)
        except BaseException as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            raise
        finally:
            del self._inflight[key]
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(answer)
        return answer

    async def _handle_once(self, key: str, msg: Inbound) -> Answer:
        if msg.is_event and msg.event in self.platform_events:
            return await self._handle_platform_event(key, msg, self.platform_events[msg.event])
        try:
            ctx = await self._context(msg)
        except Exception:  # the sender could not be looked up: nothing ran, nothing is logged
            return self._not_logged(key, msg)
        found = find_handler(self.routers, msg, ctx)
        if found is not None and found[0].logged_after:
            return await self._handle_logged_after(key, msg, ctx, found)
        try:
            claim = await self._log(key, msg)
        except Exception:
            await ctx.close()
            return self._not_logged(key, msg)
        if not claim.new:
            await ctx.close()
            return await self._answer_duplicate(key, msg, claim)
        return await self._run_with_deadline(key, msg, ctx, found)

    async def _log(self, key: str, msg: Inbound, status: InboundStatus = InboundStatus.received,
                   reply: str | None = None) -> Claim:
        return await self.journal.claim(
            dedupe_key=key,
            platform=msg.platform.value,
            from_user=msg.from_user,
            msg_type=msg.event if msg.is_event else msg.msg_type,
            content=msg.content or msg.event_key,
            status=status,
            reply=reply,
        )

    async def _handle_platform_event(self, key: str, msg: Inbound, handle: PlatformEvent) -> Answer:
        try:
            claim = await self._log(key, msg)
        except Exception:
            return self._not_logged(key, msg)
        if not claim.new:
            return await self._answer_duplicate(key, msg, claim)
        return await self._run_platform_event(key, msg, handle)

    async def _run_platform_event(self, key: str, msg: Inbound, handle: PlatformEvent) -> Answer:
        failed = False
        try:
            await handle(msg)
        except Exception:
            log.exception("%s event from %s failed", msg.event, msg.from_user)
            failed = True
        await self.journal.settle(key, InboundStatus.failed if failed else InboundStatus.replied, SUCCESS,
                                  "event handler error" if failed else None)
        return Answer(SUCCESS, "error" if failed else "success")

    def _not_logged(self, key: str, msg: Inbound) -> Answer:
        # Not durable, so not acknowledged as handled: the user is asked to send again.
        log.exception("could not log or look up inbound callback %s", key)
        return Answer(render_text_reply(msg, SYSTEM_BUSY, int(time.time())), "journal_error")

    async def _handle_logged_after(self, key: str, msg: Inbound, ctx: Context, found: Found) -> Answer:
        """A pure or batched handler runs first and its message is logged once, with its reply (and a
        batched handler's rows, written only if the log entry is new): one write instead of claim, rows
        and settle. Run twice by two processes it writes once, and the reply logged first is the one
        every retry gets."""
        log_later = ctx.log_now = _LogLater(self, key, msg)
        task = start_eagerly(self._invoke(msg, ctx, found))
        if not task.done():
            await asyncio.wait({task}, timeout=self.settings.handler_deadline)
        if not task.done():
            try:
                await log_later()  # logged now, so that it can be deferred
            except Duplicate as dup:
                task.cancel()
                return await self._answer_duplicate(key, msg, dup.claim)
            except Exception:
                task.cancel()
                return self._not_logged(key, msg)
            await self.journal.settle(key, InboundStatus.deferred, None)
            self._spawn(self._finish_late(key, msg, task, ctx))
            return Answer(SUCCESS, "deferred")
        try:
            outcome, failed = task.result()
        except Duplicate as dup:  # the handler had it logged, and found it logged before
            return await self._answer_duplicate(key, msg, dup.claim)
        if isinstance(outcome, Finish):
            return await self._finish(key, msg, outcome, None if log_later.logged else self._claim_row(key, msg))
        body = render_text_reply(msg, outcome, int(time.time())) if outcome else SUCCESS
        status = InboundStatus.failed if failed else InboundStatus.replied
        try:
            if log_later.logged:
                await self.journal.settle(key, status, body, "handler error" if failed else None)
                return Answer(body, _outcome(outcome, failed))
            claim = await self._log(key, msg, status, body)
        except Exception:
            return self._not_logged(key, msg)
        if not claim.new:
            return await self._answer_duplicate(key, msg, claim)
        return Answer(body, _outcome(outcome, failed))

    async def _finish(self, key: str, msg: Inbound, finish: Finish, claim: tuple[Any, ...] | None) -> Answer:
        now = int(time.time())
        replied: list[Reply] = [None]

        def conclude(written: list[Any]) -> tuple[str, str | None, str | None]:
            text = replied[0] = finish.reply(written)
            return InboundStatus.replied.name, render_text_reply(msg, text, now) if text else SUCCESS, None

        try:
            done = await self.journal.finish(dedupe_key=key, rows=finish.rows, conclude=conclude, claim=claim)
        except Exception:
            return self._not_logged(key, msg)
        if not done.claim.new:
            return await self._answer_duplicate(key, msg, done.claim)
        finish.after(done.written)
        return Answer(done.reply or SUCCESS, _outcome(replied[0], False))

    def _claim_row(self, key: str, msg: Inbound) -> tuple[Any, ...]:
        return claim_row(dedupe_key=key, platform=msg.platform.value, from_user=msg.from_user,
                         msg_type=msg.event if msg.is_event else msg.msg_type, content=msg.content or msg.event_key)

    async def _answer_duplicate(self, key: str, msg: Inbound, claim: Claim) -> Answer:
        deadline = time.monotonic() + self.settings.handler_deadline
        while claim.status == InboundStatus.received and time.monotonic() < deadline:
            await asyncio.sleep(DUPLICATE_POLL)
            claim = await self._read_claim(key)
        if claim.status == InboundStatus.received and await self.journal.take_over(key, ORPHAN_AFTER):
            # Logged but never settled: the process that took it died. WeChat's retry runs it now.
            if msg.is_event and msg.event in self.platform_events:
                return await self._run_platform_event(key, msg, self.platform_events[msg.event])
            ctx = await self._context(msg)
            return await self._run_with_deadline(key, msg, ctx, find_handler(self.routers, msg, ctx))
        return Answer(claim.reply or SUCCESS, "duplicate")

    async def _read_claim(self, key: str) -> Claim:
        async with self.sessions() as session:
            row = (await session.exec(select(InboundMessage).where(InboundMessage.dedupe_key == key))).one()
            return Claim(False, row.status, row.reply)

    async def _run_with_deadline(self, key: str, msg: Inbound, ctx: Context, found: Found | None) -> Answer:
        task = start_eagerly(self._invoke(msg, ctx, found))
        if not task.done():
            await asyncio.wait({task}, timeout=self.settings.handler_deadline)
        if not task.done():
            # WeChat gives up after 5 s: answer now, send the reply through the API when it is ready.
            await self.journal.settle(key, InboundStatus.deferred, None)
            self._spawn(self._finish_late(key, msg, task, ctx))
            return Answer(SUCCESS, "deferred")
        outcome, failed = task.result()
        if isinstance(outcome, Finish):  # rows and settlement in one batch
            return await self._finish(key, msg, outcome, None)
        body = render_text_reply(msg, outcome, int(time.time())) if outcome else SUCCESS
        status = InboundStatus.failed if failed else InboundStatus.replied
        await self.journal.settle(key, status, body, "handler error" if failed else None)
        return Answer(body, _outcome(outcome, failed))

    async def _context(self, msg: Inbound) -> Context:
        key = (msg.platform, msg.app_id, msg.from_user)
        sender = await self.directory.get(*key)

        async def reload_sender() -> SenderProfile:
            return await self.directory.load(key)

        return Context(
            open_session=self.sessions,
            sender=sender,
            now=datetime.now(self.tz),
            settings=self.settings,
            help_book=self.help_book,
            routers=self.routers,
            forget_sender=lambda: self.directory.forget(key),
            reload_sender=reload_sender,
            hot=self.hot,
        )

    async def _invoke(self, msg: Inbound, ctx: Context, found: Found | None) -> tuple[Outcome, bool]:
        """The handler's reply, and whether it failed (then the reply is an apology)."""
        try:
            return (await run_handler(found, msg, ctx) if found else None), False
        except Duplicate:
            raise
        except Exception:
            log.exception("handler failed for %s message from %s", msg.msg_type, msg.from_user)
            return SYSTEM_BUSY, True
        finally:
            await ctx.close()

    async def _finish_late(self, key: str, msg: Inbound, task: asyncio.Future[tuple[Outcome, bool]],
                           ctx: Context) -> None:
        try:
            outcome, failed = await task
            text = await written_out(outcome, ctx)  # the message is logged: rows first, then the reply
        except Exception as exc:  # a Duplicate cannot come: the message was logged by this delivery
            log.exception("late handling of %s failed", key)
            await self.journal.settle(key, InboundStatus.failed, None, f"late handling failed: {exc}")
            return
        if not text:
            await self.journal.settle(key, InboundStatus.sent, None)
            return
        try:
            await self.late_sender.send(msg, text)
        except Exception as exc:
            log.exception("late reply to %s failed", msg.from_user)
            self.metrics.deferred_sends.labels(msg.platform.value, "failed").inc()
            await self.journal.settle(key, InboundStatus.failed, None, f"late reply failed: {exc}")
            return
        self.metrics.deferred_sends.labels(msg.platform.value, "sent").inc()
        await self.journal.settle(key, InboundStatus.failed if failed else InboundStatus.sent, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """On shutdown: let late replies finish (they are already acknowledged to WeChat)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=DRAIN_SECONDS)
