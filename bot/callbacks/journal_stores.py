"""How a batch of claims and settlements reaches the database, per backend.

The hot path pays one commit per batch, so the statements are fixed SQL run at driver level: no
SQLAlchemy compilation per batch (the row count varies, so its statement cache would never hit), and on
SQLite a single hop to one dedicated writer thread per batch instead of one per statement."""

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.row_sql import Attached, Statements, write_postgres, write_sqlite
from models.bulk import chunks
from models.row_writes import RowWrite, Written

# A claim row is (dedupe_key, platform, from_user, msg_type, content, status, reply); received_at is the
# batch's time. A settlement row is (status, reply, error, dedupe_key).
COLUMNS = ("dedupe_key", "platform", "from_user", "msg_type", "content", "status", "reply", "received_at")
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """A claim that met an earlier delivery of the same callback."""

    status: str
    reply: str | None


# What the rows did → the status name, reply and error to log (journal.InboundJournal.finish).
Conclude = Callable[[list[Written]], tuple[str, str | None, str | None]]


@dataclass(slots=True)
class Finishing:
    """A handler's rows and the reply they decide, with the message's log row when it is not logged yet
    (its status and reply are what `conclude` says). The store fills in the outcome."""

    claim: Row | None
    key: str
    rows: list[RowWrite]
    conclude: Conclude
    stored: Stored | None = None  # the message was logged before: nothing written
    written: list[Written] = field(default_factory=list)
    reply: str | None = None

    def reset(self) -> None:
        """Before a batch that failed is written again."""
        self.stored, self.written, self.reply = None, [], None


class JournalStore(Protocol):
    concurrency: int  # batches that may be written at the same time

    async def start(self) -> None: ...

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    finishes: list[Finishing], now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        """Inserts the claims that are new, applies the settlements, writes the handlers' rows (one
        group per handler) and the finishes, in one transaction; returns the claims that already existed
        and what each group's rows did (a finish's outcome is filled into it)."""
        ...

    async def close(self) -> None: ...


_SQLITE_INSERT = f"INSERT INTO inbound_message ({', '.join(COLUMNS)}) VALUES (?,?,?,?,?,?,?,?)"
_SQLITE_SETTLE = "UPDATE inbound_message SET status = ?, reply = ?, error = ? WHERE dedupe_key = ?"


class SqliteJournalStore:
    CHECKPOINT_EVERY = 1.0  # seconds
    concurrency = 1  # SQLite has one writer at a time anyway

    def __init__(self, path: str, dialect: Dialect) -> None:
        self._path = path
        self._statements = Statements(dialect)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbound-journal")
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._checkpoint_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        # A checkpoint inside a commit would stall every callback of that batch: the journal never
        # checkpoints itself; `_checkpoint_forever` does it beside it, without blocking writers.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    async def start(self) -> None:
        self._checkpointer = asyncio.create_task(self._checkpoint_forever(), name="inbound-journal-checkpoint")

    async def _checkpoint_forever(self) -> None:
        # Its own connection on its own thread: opened, used and closed there only, so closing can
        # never race a checkpoint still running (sqlite3 connections are not safe across threads).
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(self._checkpoint_thread, sqlite3.connect, self._path)
        try:
            while True:
                await asyncio.sleep(self.CHECKPOINT_EVERY)
                await loop.run_in_executor(self._checkpoint_thread, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._checkpoint_thread.submit(conn.close)

    def _write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
               finishes: list[Finishing], now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        # IMMEDIATE takes the write lock first, so no other writer can slip in between look-up and insert.
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing: dict[str, Stored] = {}
            keys_to_claim = [c[0] for c in claims] + [f.key for f in finishes if f.claim is not None]
            for keys in chunks(keys_to_claim, 500):
                marks = ",".join("?" * len(keys))
                sql = f"SELECT dedupe_key, status, reply FROM inbound_message WHERE dedupe_key IN ({marks})"
                for key, status, reply in conn.execute(sql, keys):
                    existing[key] = Stored(status, reply)
            stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
            rows = [(*c, stamp) for c in claims if c[0] not in existing]
            conn.executemany(_SQLITE_INSERT, rows)
            conn.executemany(_SQLITE_SETTLE, settles)
            live = _live(finishes, existing)
            handled = groups + [f.rows for f in live]
            written = write_sqlite(conn, self._statements, handled) if handled else []
            for f, outcome in zip(live, written[len(groups):], strict=True):
                status, reply, error = _conclude(f, outcome)
                if f.claim is not None:
                    conn.execute(_SQLITE_INSERT, (*f.claim[:5], status, reply, stamp))
                if f.claim is None or error is not None:
                    conn.execute(_SQLITE_SETTLE, (status, reply, error, f.key))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return existing, written[:len(groups)]

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    finishes: list[Finishing], now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._write, claims, settles, groups, finishes, now)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            try:
                await self._checkpointer
            except asyncio.CancelledError:
                pass
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
        self._checkpoint_thread.shutdown(wait=True)


async def driver_pool(engine: AsyncEngine, size: int) -> asyncpg.Pool:
    """An asyncpg pool of the engine's database, for the callback path's statements at driver level."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # A generic plan made while a table was small (or never analysed) joins unnest() or an array to
    # the table by scanning all of it, and is kept as the table grows; a custom plan per execution uses
    # the index. (Generic plans with sequential scans turned off made first contacts 5 times slower.)
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size,
                                     server_settings={"plan_cache_mode": "force_custom_plan"})


@cache
def _settled(before: int) -> str:
    """Settlements as a data-modifying CTE of another statement, their four parameters (status, reply,
    error, key arrays) after `before` others. The settlements always concern keys claimed in earlier,
    committed batches or earlier statements of this one, so the UPDATE never needs to see its own
    statement's inserts."""
    n = before
    return ("settled AS (UPDATE inbound_message AS m SET status = u.s::inboundstatus, reply = u.r, error = u.e"
            f" FROM unnest(${n + 1}::text[], ${n + 2}::text[], ${n + 3}::text[], ${n + 4}::varchar[])"
            " AS u(s, r, e, k) WHERE m.dedupe_key = u.k RETURNING 1)")


# Claims and settlements of a batch in ONE statement: one round trip and one commit per batch.
_PG_WRITE = (
    f"WITH {_settled(7)} INSERT INTO inbound_message ({', '.join(COLUMNS)}) "
    "SELECT *, $12::timestamptz FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], "
    "$5::varchar[], $6::inboundstatus[], $7::text[]) ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
)
_PG_EXISTING = "SELECT dedupe_key, status::text, reply FROM inbound_message WHERE dedupe_key = ANY($1::varchar[])"


class PostgresJournalStore:
    """Its own small asyncpg pool (no pre-ping or pool events per batch, as the engine's pool has);
    arrays in, so the statement is prepared once per connection."""

    # Batches written at once. More are not faster: on a 2-core host with PostgreSQL beside it, 8
    # made smaller batches, more round trips per answer and 10 % fewer answers per second than 2–4
    # (benchmarks/district.py, first contact and 收到 burst).
    concurrency = 3

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._statements = Statements(engine.dialect)
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await driver_pool(self._engine, self.concurrency)

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    finishes: list[Finishing], now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        existing: dict[str, Stored] = {}
        assert self._pool is not None, "start() first"
        # A finish's message is logged as received first: its rows are written only if that insert
        # was new. It is logged with the status and reply its rows give when they are all written (as
        # they nearly always are), so that only a finish whose rows did otherwise is updated after them.
        guessed = {f.key: _guess(f) for f in finishes if f.claim is not None}
        to_claim = claims + [(*f.claim[:5], *guessed[f.key][:2]) for f in finishes if f.claim is not None]
        claim_columns = [list(col) for col in zip(*to_claim, strict=True)] if to_claim else [[] for _ in range(7)]
        settle_columns = [list(col) for col in zip(*settles, strict=True)] if settles else [[] for _ in range(4)]
        written: list[list[Written]] = []
        async with self._pool.acquire() as raw:
            if groups or finishes:  # the handlers' rows and the log commit together
                async with raw.transaction():
                    inserted = {r[0] for r in await raw.fetch(_PG_WRITE, *claim_columns, *settle_columns, now)}
                    live = [f for f in finishes if f.claim is None or f.key in inserted]

                    def settle(results: list[list[Written]]) -> Attached | None:
                        # The finishes' statuses and replies that differ from what was logged, known once
                        # their own rows are written, ride along with the next statement.
                        outcomes = [(*outcome, f.key) for f, w in zip(live, results[len(groups):], strict=True)
                                    if (outcome := _conclude(f, w)) != guessed.get(f.key) or outcome[2]]
                        return (_settled, [list(c) for c in zip(*outcomes, strict=True)]) if outcomes else None

                    written = await write_postgres(raw, self._statements, groups + [f.rows for f in live], settle)
                    for f, w in zip(live, written[len(groups):], strict=True):
                        f.written = w  # with the directory version the batch took
                    written = written[:len(groups)]
            else:  # one statement: its own transaction
                inserted = {r[0] for r in await raw.fetch(_PG_WRITE, *claim_columns, *settle_columns, now)}
            dupes = [c[0] for c in to_claim if c[0] not in inserted]
            if dupes:  # rare: a retry whose first delivery is logged
                for key, status, reply in await raw.fetch(_PG_EXISTING, dupes):
                    existing[key] = Stored(status, reply)
            for f in finishes:
                if f.claim is not None and f.key not in inserted:
                    f.stored = existing[f.key]
        return existing, written

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def _live(finishes: list[Finishing], existing: dict[str, Stored]) -> list[Finishing]:
    """The finishes to write: those whose message was not logged before (the others get what was)."""
    live = []
    for f in finishes:
        if f.claim is not None and f.key in existing:
            f.stored = existing[f.key]
        else:
            live.append(f)
    return live


def _guess(finish: Finishing) -> tuple[str, str | None, str | None]:
    """What `conclude` says when every row is written (without ids: a reply that names one differs)."""
    return finish.conclude([Written(True) for _ in finish.rows])


def _conclude(finish: Finishing, written: list[Written]) -> tuple[str, str | None, str | None]:
    finish.written = written
    status, finish.reply, error = finish.conclude(written)
    return status, finish.reply, error


def journal_store(engine: AsyncEngine) -> JournalStore:
    if engine.dialect.name == "postgresql":
        return PostgresJournalStore(engine)
    database = make_url(str(engine.url)).database
    assert database and database != ":memory:", "the inbound journal needs a file database"
    return SqliteJournalStore(database, engine.dialect)
