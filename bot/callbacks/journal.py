"""The durable inbound log, written with group commit.

One writer task takes every claim and settlement queued while the previous transaction was committing
and writes them in one transaction, so the service pays one commit per batch instead of one per
callback, and nothing is acknowledged to WeChat before it is on disk.

A handler whose last step is a few rows (a 收到, a first contact: `finish`) has its message logged, its
rows written and its reply logged in one batch: one commit for the whole callback. Its rows are written
only when its log entry is new, so a retry that reached another process never writes them twice."""

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.journal_stores import Conclude, Finishing, journal_store
from models.clock import utcnow
from models.inbound import InboundMessage, InboundStatus
from models.row_writes import RowWrite, Written

log = logging.getLogger(__name__)
TABLE = InboundMessage.__table__  # type: ignore[attr-defined]  # SQLModel does not declare __table__
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Claim:
    new: bool  # False: another delivery of this callback was logged before
    status: InboundStatus = InboundStatus.received
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    claim: Claim  # new=False: an earlier delivery was logged first, and nothing was written
    written: list[Written]  # one per row given
    reply: str | None  # the reply logged with it


CLAIM, SETTLE, ROWS, FINISH = 0, 1, 2, 3


class _Op:
    """One queued write: a claim row, a settlement row or a handler's rows, and the future its caller
    awaits."""

    __slots__ = ("done", "kind", "row")

    def __init__(self, kind: int, row: Any) -> None:
        self.kind = kind
        self.row = row
        self.done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()


def claim_row(*, dedupe_key: str, platform: str, from_user: str, msg_type: str, content: str,
              status: InboundStatus = InboundStatus.received, reply: str | None = None) -> tuple[Any, ...]:
    """A message's log row as the stores take it (journal_stores.COLUMNS, without the time)."""
    return dedupe_key, platform, from_user[:64], msg_type[:32], content[:4000], status.name, reply


class InboundJournal:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: deque[_Op] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._store = journal_store(engine)
        self.batches = 0  # for metrics and tests
        self.observe_batch: Callable[[int], None] = lambda _size: None  # the operations of each batch

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
        while self._queue:
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
        row = claim_row(dedupe_key=dedupe_key, platform=platform, from_user=from_user, msg_type=msg_type,
                        content=content, status=status, reply=reply)
        return await self._submit(_Op(CLAIM, row))

    async def finish(self, *, dedupe_key: str, rows: Sequence[RowWrite], conclude: Conclude,
                     claim: tuple[Any, ...] | None) -> Finished:
        """A handler's rows, then its reply (`conclude` turns what the rows did into the status, reply
        and error to log; it runs inside the batch's transaction, on SQLite on the writer's thread, so
        it must only compute). With `claim` (a `claim_row`, for a message not logged yet) the message
        is logged in the same transaction, and the rows are written only if it was not logged before."""
        op = _Op(FINISH, Finishing(claim, dedupe_key, list(rows), conclude))
        done: Finishing = await self._submit(op)
        if done.stored is not None:
            return Finished(Claim(False, InboundStatus[done.stored.status], done.stored.reply), [], None)
        return Finished(Claim(True), done.written, done.reply)

    async def settle(self, dedupe_key: str, status: InboundStatus, reply: str | None, error: str | None = None) -> None:
        await self._submit(_Op(SETTLE, (status.name, reply, error and error[:500], dedupe_key)))

    async def write(self, rows: Sequence[RowWrite]) -> list[Written]:
        """A handler's rows (models/row_writes.py), in the next batch's transaction: durable when this
        returns, before the handler's reply is settled and sent."""
        if not rows:
            return []
        result: list[Written] = await self._submit(_Op(ROWS, list(rows)))
        return result

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

    async def _submit(self, op: _Op) -> Any:
        # No shield: if the caller is cancelled its future is cancelled, and the writer skips it.
        self._queue.append(op)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        return await op.done

    def _drain(self) -> list[_Op]:
        queue = self._queue
        count = min(len(queue), MAX_BATCH)
        return [queue.popleft() for _ in range(count)]

    async def _run(self) -> None:
        # SQLite has one writer; PostgreSQL commits several batches at once, so a batch's commit
        # latency does not cap the throughput.
        slots = asyncio.Semaphore(self._store.concurrency)
        writing: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        def written(task: asyncio.Task[None]) -> None:
            writing.discard(task)
            slots.release()

        try:
            while True:
                if not self._queue:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                await slots.acquire()
                task = asyncio.create_task(self._write(self._drain()))
                writing.add(task)
                task.add_done_callback(written)
        finally:
            if writing:
                await asyncio.wait(writing)

    async def _write(self, ops: list[_Op]) -> None:
        if not ops:
            return
        claims = [op.row for op in ops if op.kind == CLAIM]
        settles = [op.row for op in ops if op.kind == SETTLE]
        groups = [op for op in ops if op.kind == ROWS]
        finishes = [op for op in ops if op.kind == FINISH]
        try:
            existing, written = await self._store.write(claims, settles, [op.row for op in groups],
                                                        [op.row for op in finishes], utcnow())
        except Exception as exc:
            handlers = groups + finishes
            if handlers and len(ops) > 1:
                # One handler's bad row must not fail the callbacks it shared the batch with: the
                # batch is written again apart, the log's own writes first.
                log.warning("inbound journal batch failed (%s); writing its %d handler writes apart",
                            exc, len(handlers))
                await self._write([op for op in ops if op.kind not in (ROWS, FINISH)])
                for op in handlers:
                    if op.kind == FINISH:
                        op.row.reset()
                    await self._write([op])
                return
            # The callers answer WeChat without acknowledging; it will retry.
            log.exception("inbound journal write failed for %d operations", len(ops))
            for op in ops:
                if not op.done.done():
                    op.done.set_exception(exc)
            return
        self.batches += 1
        self.observe_batch(len(ops))
        new = Claim(True)
        for op, result in zip(groups, written, strict=True):
            if not op.done.done():
                op.done.set_result(result)
        for op in ops:
            if op.done.done():
                continue
            if op.kind == SETTLE:
                op.done.set_result(None)
                continue
            if op.kind == FINISH:
                op.done.set_result(op.row)
                continue
            stored = existing.get(op.row[0])
            op.done.set_result(new if stored is None else Claim(False, InboundStatus[stored.status], stored.reply))
