"""`grassroots serve` with counters, for the district benchmark's `--probe` pass (not for figures: the
counters cost a little). Same settings (GRASSROOTS_* variables), same app, same server setup; the
service's code is left alone: a few of its methods are wrapped from outside and SQLAlchemy's events are
listened to. GET /__probe answers the counters so far as JSON (the runner diffs before and after a run):

- statements through SQLAlchemy by verb and table (count, wall seconds from cursor execute to its return:
  the driver hop, SQLite's busy wait for the write lock, PostgreSQL's row-lock waits), commits, rollbacks;
  the time handler transactions held SQLite's write lock (first INSERT/UPDATE to COMMIT);
- connection checkouts from the pool and the seconds spent waiting for one;
- the directory cache: look-ups, misses (loads, and their wall time), whole-cache drops and the entries
  they dropped, version polls;
- the inbound journal: batches, operations, the writer's transaction time, and on SQLite the time its
  BEGIN IMMEDIATE waited for the write lock; the callers' wait for their claim / settle;
- the callback view's wall time, the handler's (`CallbackService._invoke`), the sender look-up's
  (`_context`); the event loop's lag (how late a 1 ms timer fires).

    GRASSROOTS_...=... .venv/bin/python benchmarks/district_probe_server.py
"""

import asyncio
import re
import threading
import time
from collections import defaultdict
from typing import Any

from benchmarks_path import ensure_repo_on_path

ensure_repo_on_path()

from aiohttp import web  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import QueuePool  # noqa: E402

from bot import directory_cache as dc  # noqa: E402
from bot import serve as serve_module  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.callbacks import journal as journal_module  # noqa: E402
from bot.callbacks import journal_stores, views  # noqa: E402
from bot.callbacks import service as service_module  # noqa: E402
from bot.settings import load_settings  # noqa: E402

LOCK = threading.Lock()  # the SQLite journal's writer thread adds to the counters too
C: dict[str, float] = defaultdict(float)
STMT: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.I)


def add(name: str, value: float = 1.0) -> None:
    with LOCK:
        C[name] += value


def timed_async(cls: Any, name: str, label: str) -> None:
    original = getattr(cls, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            add(f"{label}.n")
            add(f"{label}.s", time.perf_counter() - t)

    setattr(cls, name, wrapper)


# SQLAlchemy: statements, commits, checkouts


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    conn.info["probe_t0"] = time.perf_counter()
    verb = statement.lstrip().split(None, 1)[0].upper()
    if verb in ("INSERT", "UPDATE", "DELETE") and "probe_write_t0" not in conn.info:
        conn.info["probe_write_t0"] = conn.info["probe_t0"]


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    spent = time.perf_counter() - conn.info.pop("probe_t0", time.perf_counter())
    verb = statement.lstrip().split(None, 1)[0].upper()
    match = _TABLE.search(statement)
    key = f"{verb} {match.group(1) if match else '?'}"
    with LOCK:
        s = STMT[key]
        s[0] += 1
        s[1] += spent
        C["sql.n"] += 1
        C["sql.s"] += spent


def _end(conn: Any, kind: str) -> None:
    add(f"tx.{kind}")
    t0 = conn.info.pop("probe_write_t0", None)
    if t0 is not None:
        add("tx.write_held.n")
        add("tx.write_held.s", time.perf_counter() - t0)


event.listen(Engine, "commit", lambda conn: _end(conn, "commit"))
event.listen(Engine, "rollback", lambda conn: _end(conn, "rollback"))

_do_get = QueuePool._do_get


def _timed_do_get(self: Any) -> Any:
    t = time.perf_counter()
    try:
        return _do_get(self)
    finally:
        add("pool.checkout.n")
        add("pool.checkout.s", time.perf_counter() - t)


QueuePool._do_get = _timed_do_get  # type: ignore[method-assign]

# The directory cache

_get, _full = dc.DirectoryCache.get, dc.DirectoryCache._load_everything


async def _cache_get(self: Any, platform: Any, app_id: str, external_id: str) -> Any:
    add("directory.get")
    hits = self.hits
    profile = await _get(self, platform, app_id, external_id)
    if self.hits > hits:
        add("directory.hit")
    return profile


async def _cache_full(self: Any) -> None:
    add("directory.full_load")
    await _full(self)


dc.DirectoryCache.get = _cache_get  # type: ignore[method-assign]
dc.DirectoryCache._load_everything = _cache_full  # type: ignore[method-assign]
timed_async(dc.DirectoryCache, "load", "directory.load")
timed_async(dc.DirectoryCache, "refresh_version", "directory.poll")

# The journal

_write = journal_module.InboundJournal._write


async def _journal_write(self: Any, ops: list[Any]) -> None:
    t = time.perf_counter()
    try:
        await _write(self, ops)
    finally:
        add("journal.batch")
        add("journal.ops", len(ops))
        add("journal.claims", sum(1 for op in ops if op.is_claim))
        add("journal.batch.s", time.perf_counter() - t)


journal_module.InboundJournal._write = _journal_write  # type: ignore[method-assign]
timed_async(journal_module.InboundJournal, "claim", "journal.claim_wait")
timed_async(journal_module.InboundJournal, "settle", "journal.settle_wait")


class _TimedConnection:
    """The SQLite journal's own sqlite3 connection, timing its BEGIN IMMEDIATE (the write lock) and COMMIT."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return self._conn.execute(sql, *args)
        finally:
            if sql in ("BEGIN IMMEDIATE", "COMMIT"):
                add(f"journal.sqlite.{sql.split()[0].lower()}.n")
                add(f"journal.sqlite.{sql.split()[0].lower()}.s", time.perf_counter() - t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


_connect = journal_stores.SqliteJournalStore._connect
journal_stores.SqliteJournalStore._connect = lambda self: _TimedConnection(_connect(self))  # type: ignore[method-assign]

# The callback path

timed_async(service_module.CallbackService, "_invoke", "handler")
timed_async(service_module.CallbackService, "_context", "context")
_receive = views.receive


async def _timed_receive(request: web.Request, platform: Any) -> web.Response:
    t = time.perf_counter()
    try:
        return await _receive(request, platform)
    finally:
        add("request.n")
        add("request.s", time.perf_counter() - t)


views.receive = _timed_receive  # type: ignore[assignment]


async def _lag_monitor() -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        lag = time.perf_counter() - t - 0.001
        add("loop.lag.n")
        add("loop.lag.s", lag)
        if lag > 0.010:
            add("loop.lag_over_10ms")


async def probe(_request: web.Request) -> web.Response:
    with LOCK:
        body = {
            "counters": dict(C),
            "statements": {k: list(v) for k, v in STMT.items()},
            "cpu_s": time.process_time(),
            "wall_s": time.perf_counter(),
        }
    return web.json_response(body)


async def main() -> None:
    lag = asyncio.create_task(_lag_monitor())
    try:
        settings = load_settings()
        app = create_app(settings)
        app.router.add_get("/__probe", probe)
        await serve_module.run_site(app, settings.host, settings.port, serve_module.stop_event())
    finally:
        lag.cancel()


if __name__ == "__main__":
    asyncio.run(main())
