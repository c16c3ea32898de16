"""The durable inbound log, written with group commit.

One writer task takes every claim and settlement queued while the previous transaction was committing
and writes them in one transaction, so the service pays one commit per batch instead of one per
callback, and nothing is acknowledged to WeChat before it is on disk."""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.journal_stores import journal_store
from models.clock import utcnow
from models.inbound import InboundMessage, InboundStatus

log = logging.getLogger(__name__)
TABLE = InboundMessage.__table__  # type: ignore[attr-defined]
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Claim:
    new: bool  # False: another delivery of this callback was logged before
    status: InboundStatus = InboundStatus.received
    reply: str | None = None


@dataclass(slots=True)
class _Op:
    kind: str  # "claim" or "settle"
    values: dict[str, Any]
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class InboundJournal:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: asyncio.Queue[_Op] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._store = journal_store(engine)
        self.batches = 0  # for metrics and tests

    async def start(self) -> None:
        await self._store.start()
        self._task = asyncio.create_task(self._run(), name="inbound-journal")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        # Writes queued during shutdown still get their answer.
        while not self._queue.empty():
            await self._write(self._drain())
        await self._store.close()

    async def claim(
        self,
        *,
        dedupe_key: str,
        platform: str,
        from_user: str,
        msg_type: str,
        content: str,
        status: InboundStatus = InboundStatus.received,
        reply: str | None = None,
    ) -> Claim:
        """Logs a callback unless it was logged before (then: what was logged). A handler without side
        effects is logged after it ran, with its status and reply, in one write."""
        values = {
            "dedupe_key": dedupe_key,
            "platform": platform,
            "from_user": from_user[:64],
            "msg_type": msg_type[:32],
            "content": content[:4000],
            "received_at": utcnow(),
            "status": status.name,
            "reply": reply,
        }
        return await self._submit("claim", values)

    async def settle(self, dedupe_key: str, status: InboundStatus, reply: str | None, error: str | None = None) -> None:
        await self._submit("settle", {"k": dedupe_key, "s": status.name, "r": reply, "e": error and error[:500]})

    async def take_over(self, dedupe_key: str, older_than: float) -> bool:
        """Claim a callback whose first delivery was logged but never settled (its process died).

        Conditional, so of several processes seeing the same orphan exactly one gets it."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(TABLE)
                .where(
                    TABLE.c.dedupe_key == dedupe_key,
                    TABLE.c.status == InboundStatus.received.name,
                    TABLE.c.received_at < cutoff,
                )
                .values(received_at=utcnow())
            )
        return result.rowcount == 1

    async def _submit(self, kind: str, values: dict[str, Any]) -> Any:
        # No shield: if the caller is cancelled its future is cancelled, and the writer skips it.
        op = _Op(kind, values)
        self._queue.put_nowait(op)
        return await op.done

    def _drain(self) -> list[_Op]:
        ops = []
        while not self._queue.empty() and len(ops) < MAX_BATCH:
            ops.append(self._queue.get_nowait())
        return ops

    async def _run(self) -> None:
        # SQLite has one writer; PostgreSQL commits several batches at once, so a batch's commit
        # latency does not cap the throughput.
        slots = asyncio.Semaphore(self._store.concurrency)
        writing: set[asyncio.Task[None]] = set()
        try:
            while True:
                first = await self._queue.get()
                await slots.acquire()
                ops = [first, *self._drain()]
                task = asyncio.create_task(self._write(ops))
                writing.add(task)
                task.add_done_callback(lambda t: (writing.discard(t), slots.release()))
        finally:
            if writing:
                await asyncio.wait(writing)

    async def _write(self, ops: list[_Op]) -> None:
        claims = [op.values for op in ops if op.kind == "claim"]
        settles = [op.values for op in ops if op.kind == "settle"]
        try:
            existing = await self._store.write(claims, settles)
        except Exception as exc:  # the callers answer WeChat without acknowledging; it will retry
            log.exception("inbound journal write failed for %d operations", len(ops))
            for op in ops:
                if not op.done.done():
                    op.done.set_exception(exc)
            return
        self.batches += 1
        for op in ops:
            if op.done.done():
                continue
            if op.kind == "settle":
                op.done.set_result(None)
                continue
            stored = existing.get(op.values["dedupe_key"])
            claim = Claim(True) if stored is None else Claim(False, InboundStatus[stored.status], stored.reply)
            op.done.set_result(claim)
