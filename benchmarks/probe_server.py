"""`grassroots serve` with instruments, for finding where a callback's time goes (not for figures: the
instruments cost a little). Same settings from GRASSROOTS_* variables, same app and server setup; it
also prints once a second:

- journal: transactions committed, operations per transaction, mean and max transaction time (from
  taking the batch to the commit's return), and how long operations waited in the queue;
- loop: event-loop lag (how late a 1 ms timer fires), a measure of how busy the loop is.

    GRASSROOTS_...=... .venv/bin/python benchmarks/probe_server.py
"""

import asyncio
import statistics
import sys
import time

from benchmarks_path import ensure_repo_on_path

ensure_repo_on_path()

from bot import serve as serve_module  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.callbacks import journal as journal_module  # noqa: E402
from bot.settings import load_settings  # noqa: E402

# The probe wraps two methods of the journal and leaves their code alone; say so plainly if they moved.
if not all(hasattr(journal_module.InboundJournal, n) for n in ("_write", "_submit")):
    raise SystemExit("probe_server.py: InboundJournal no longer has _write/_submit; update the probe")

stats: dict[str, list[float]] = {"tx": [], "ops": [], "queued": [], "lag": []}
enqueued: dict[int, float] = {}  # id of an operation's values dict -> when it was submitted

_original_write = journal_module.InboundJournal._write
_original_submit = journal_module.InboundJournal._submit


async def _write(self, ops):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for op in ops:
        t = enqueued.pop(id(getattr(op, "values", None)), None)
        if t is not None:
            stats["queued"].append(started - t)
    await _original_write(self, ops)
    stats["tx"].append(time.perf_counter() - started)
    stats["ops"].append(len(ops))


async def _submit(self, kind, values):  # type: ignore[no-untyped-def]
    enqueued[id(values)] = time.perf_counter()
    try:
        return await _original_submit(self, kind, values)
    finally:
        enqueued.pop(id(values), None)


journal_module.InboundJournal._write = _write  # type: ignore[method-assign]
journal_module.InboundJournal._submit = _submit  # type: ignore[method-assign]


async def _lag_monitor() -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.001)
        stats["lag"].append(time.perf_counter() - t - 0.001)


async def _report() -> None:
    while True:
        await asyncio.sleep(1.0)
        tx, ops, queued, lag = (stats[k][:] for k in ("tx", "ops", "queued", "lag"))
        for v in stats.values():
            v.clear()
        if not tx:
            continue
        print(
            f"journal: {len(tx)} tx/s, {sum(ops)} ops/s, {statistics.mean(ops):.1f} ops/tx (max {max(ops)}), "
            f"tx {statistics.mean(tx) * 1e3:.2f} ms (max {max(tx) * 1e3:.1f}), "
            f"queued {statistics.mean(queued) * 1e3 if queued else 0:.2f} ms | "
            f"loop lag mean {statistics.mean(lag) * 1e3:.2f} ms, p99 {sorted(lag)[int(len(lag) * 0.99)] * 1e3:.2f} ms",
            file=sys.stderr,
            flush=True,
        )


async def main() -> None:
    print("probe server", file=sys.stderr, flush=True)
    tasks = [asyncio.create_task(_lag_monitor()), asyncio.create_task(_report())]
    try:
        settings = load_settings()
        # What `grassroots serve` does once its checks pass (bot/cli.py).
        await serve_module.run_site(create_app(settings), settings.host, settings.port, serve_module.stop_event())
    finally:
        for t in tasks:
            t.cancel()


if __name__ == "__main__":
    asyncio.run(main())
