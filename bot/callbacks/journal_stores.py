"""How a batch of claims and settlements reaches the database, per backend.

The hot path pays one commit per batch, so the statements are fixed SQL run at driver level: no
SQLAlchemy compilation per batch (the row count varies, so its statement cache would never hit), and on
SQLite a single hop to one dedicated writer thread per batch instead of one per statement."""

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks.row_sql import Statements, write_postgres, write_sqlite
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


class JournalStore(Protocol):
    concurrency: int  # batches that may be written at the same time

    async def start(self) -> None: ...

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        """Inserts the claims that are new, applies the settlements and writes the handlers' rows (one
        group per handler), in one transaction; returns the claims that already existed and what each
        group's rows did."""
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
               now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        # IMMEDIATE takes the write lock first, so no other writer can slip in between look-up and insert.
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing: dict[str, Stored] = {}
            for keys in chunks([c[0] for c in claims], 500):
                marks = ",".join("?" * len(keys))
                sql = f"SELECT dedupe_key, status, reply FROM inbound_message WHERE dedupe_key IN ({marks})"
                for key, status, reply in conn.execute(sql, keys):
                    existing[key] = Stored(status, reply)
            stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
            rows = [(*c, stamp) for c in claims if c[0] not in existing]
            conn.executemany(_SQLITE_INSERT, rows)
            conn.executemany(_SQLITE_SETTLE, settles)
            written = write_sqlite(conn, self._statements, groups) if groups else []
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return existing, written

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._write, claims, settles, groups, now)

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


# Claims and settlements of a batch in ONE statement: one round trip and one commit per batch. The
# settlements always concern keys claimed in earlier, committed batches, so the UPDATE never needs to
# see this statement's own inserts.
_PG_WRITE = (
    "WITH settled AS ("
    " UPDATE inbound_message AS m SET status = u.s::inboundstatus, reply = u.r, error = u.e"
    " FROM unnest($8::text[], $9::text[], $10::text[], $11::varchar[]) AS u(s, r, e, k)"
    " WHERE m.dedupe_key = u.k RETURNING 1"
    f") INSERT INTO inbound_message ({', '.join(COLUMNS)}) "
    "SELECT *, $12::timestamptz FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], "
    "$5::varchar[], $6::inboundstatus[], $7::text[]) ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
)
_PG_EXISTING = "SELECT dedupe_key, status::text, reply FROM inbound_message WHERE dedupe_key = ANY($1::varchar[])"


class PostgresJournalStore:
    """Its own small asyncpg pool (no pre-ping or pool events per batch, as the engine's pool has);
    arrays in, so the statement is prepared once per connection."""

    concurrency = 8

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._statements = Statements(engine.dialect)
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        # A generic plan made while the table was small (or never analysed) joins unnest() to the
        # table by scanning all of it; a custom plan per batch uses the dedupe_key index.
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=self.concurrency,
            server_settings={"plan_cache_mode": "force_custom_plan"},
        )

    async def write(self, claims: list[Row], settles: list[Row], groups: list[list[RowWrite]],
                    now: datetime) -> tuple[dict[str, Stored], list[list[Written]]]:
        existing: dict[str, Stored] = {}
        assert self._pool is not None, "start() first"
        claim_columns = [list(col) for col in zip(*claims, strict=True)] if claims else [[] for _ in range(7)]
        settle_columns = [list(col) for col in zip(*settles, strict=True)] if settles else [[] for _ in range(4)]
        written: list[list[Written]] = []
        async with self._pool.acquire() as raw:
            if groups:  # the handlers' rows and the log commit together
                async with raw.transaction():
                    inserted = {r[0] for r in await raw.fetch(_PG_WRITE, *claim_columns, *settle_columns, now)}
                    written = await write_postgres(raw, self._statements, groups)
            else:  # one statement: its own transaction
                inserted = {r[0] for r in await raw.fetch(_PG_WRITE, *claim_columns, *settle_columns, now)}
            dupes = [c[0] for c in claims if c[0] not in inserted]
            if dupes:  # rare: a retry whose first delivery is logged
                for key, status, reply in await raw.fetch(_PG_EXISTING, dupes):
                    existing[key] = Stored(status, reply)
        return existing, written

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def journal_store(engine: AsyncEngine) -> JournalStore:
    if engine.dialect.name == "postgresql":
        return PostgresJournalStore(engine)
    database = make_url(str(engine.url)).database
    assert database and database != ":memory:", "the inbound journal needs a file database"
    return SqliteJournalStore(database, engine.dialect)
