"""Where a callback's time goes: the pieces of the hot path timed one by one in-process (no HTTP, no
wrk), on the same seeded roster and the same pre-generated callbacks as run.py.

    .venv/bin/python benchmarks/hotpath_micro.py [--databases sqlite,postgres] [--n 3000]

Prints microseconds per call (median of 5 repeats) for: verify (plaintext signature), verify + decrypt
(safe mode), XML parse, reply render, reply encrypt, the handler (dispatch with the sender cached,
including the per-message AsyncSession), one message through the journal alone (claim + settle, one at a
time: the latency of two group commits) and with 64 messages in flight (the journal's ceiling), the
SQL compilation of one claim batch, and `CallbackService.handle` with 64 in flight — the service's
ceiling without HTTP. Compare with the bare server's CPU per request in run.py's table.
"""

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from benchmarks_path import REPO, ensure_repo_on_path

ensure_repo_on_path()

from aiohttp import web  # noqa: E402
from make_requests import generate  # noqa: E402
from multidict import MultiDict  # noqa: E402
from run import PG_DEFAULT, free_port, postgres_database, service_env, sqlite_database  # noqa: E402
from seed import seed  # noqa: E402

from bot.app import build_endpoints, create_app  # noqa: E402
from bot.callbacks.journal import TABLE  # noqa: E402
from bot.callbacks.parsing import render_text_reply, to_inbound, xml_fields  # noqa: E402
from bot.keys import JOURNAL, SERVICE  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from emulator import EmulatorConfig  # noqa: E402
from models.clock import utcnow  # noqa: E402
from models.identity import Platform  # noqa: E402
from models.inbound import InboundStatus  # noqa: E402

REPEATS = 5


def per_call_us(fn: Callable[[int], Any], n: int) -> float:
    """Median over REPEATS of the mean time of fn(i) for i in range(n), in µs."""
    results = []
    for r in range(REPEATS):
        started = time.perf_counter()
        for i in range(r * n, (r + 1) * n):
            fn(i)
        results.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(results)


async def per_call_us_async(fn: Callable[[int], Any], n: int) -> float:
    results = []
    for r in range(REPEATS):
        started = time.perf_counter()
        for i in range(r * n, (r + 1) * n):
            await fn(i)
        results.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(results)


async def concurrent_us(fn: Callable[[int], Any], n: int, inflight: int, offset: int) -> float:
    """Wall time per call with `inflight` callers each doing its share of n calls one after another."""

    async def worker(k: int) -> None:
        for i in range(offset + k, offset + n, inflight):
            await fn(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(inflight)))
    return (time.perf_counter() - started) / n * 1e6


def load_requests(mode: str, count: int, base: int, folder: Path) -> list[tuple[MultiDict[str], bytes]]:
    path = generate(mode, count, base, folder / f"micro-{mode}.txt")
    out = []
    for line in path.read_text().splitlines():
        target, body = line.split("\t", 1)
        out.append((MultiDict(parse_qsl(target.split("?", 1)[1])), body.encode()))
    return out


def pure_pieces(settings: Any, plain: list, safe: list, n: int) -> dict[str, float]:
    endpoint = build_endpoints(settings)[Platform.mp]
    app_id = settings.mp_appid
    plain_xml = [endpoint.open(q, b) for q, b in plain[:n]]
    msgs = [to_inbound(xml_fields(x), Platform.mp, app_id) for x in plain_xml]
    now = int(time.time())
    replies = [
        render_text_reply(m, "您好！这里是基层党建服务助手。\n可用指令：\n· 帮助 — 查看本说明", now) for m in msgs
    ]
    k = len(plain_xml)
    return {
        "verify signature (plaintext Endpoint.open)": per_call_us(lambda i: endpoint.open(*plain[i % k]), n),
        "verify + decrypt (safe Endpoint.open)": per_call_us(lambda i: endpoint.open(*safe[i % k]), n),
        "parse XML (xml_fields + to_inbound)": per_call_us(
            lambda i: to_inbound(xml_fields(plain_xml[i % k]), Platform.mp, app_id), n
        ),
        "render reply XML (render_text_reply)": per_call_us(lambda i: render_text_reply(msgs[i % k], "好", now), n),
        "encrypt reply (safe Endpoint.seal)": per_call_us(lambda i: endpoint.seal(safe[0][0], replies[i % k]), n),
    }


def compile_cost(dialect_name: str) -> float:
    from sqlalchemy.dialects import postgresql, sqlite

    module = postgresql if dialect_name == "postgresql" else sqlite
    dialect = module.dialect()
    rows = [
        {
            "dedupe_key": f"mp:x:m:{i}",
            "platform": "mp",
            "from_user": "o" * 28,
            "msg_type": "text",
            "content": "帮助",
            "received_at": utcnow(),
            "status": "received",
        }
        for i in range(32)
    ]
    insert = module.insert(TABLE)

    def once(_i: int) -> None:
        stmt = insert.values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(TABLE.c.dedupe_key)
        stmt.compile(dialect=dialect)

    return per_call_us(once, 40)


def _handler_runner(service: Any) -> Callable[[Any], Any] | None:
    """Runs the handler the way the service does; the service's private methods have moved before."""
    from handlers.routing import dispatch

    if hasattr(service, "_context"):

        async def run(msg: Any) -> Any:
            return await dispatch(msg, await service._context(msg))

        return run
    if hasattr(service, "_run_handler"):
        return service._run_handler
    print("  (handler timing skipped: CallbackService has neither _context nor _run_handler)")
    return None


async def service_pieces(settings: Any, plain: list, n: int, concurrency: int) -> dict[str, float]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup contexts: engine, journal, directory cache, service
    try:
        service, journal = app[SERVICE], app[JOURNAL]
        endpoint = build_endpoints(settings)[Platform.mp]
        msgs = [to_inbound(xml_fields(endpoint.open(q, b)), Platform.mp, settings.mp_appid) for q, b in plain]
        k = len(msgs)
        for m in msgs[:200]:  # warm the sender cache
            await service.directory.get(m.platform, m.app_id, m.from_user)
        out: dict[str, float] = {}
        handler = _handler_runner(service)
        if handler is not None:
            out["handler: context + dispatch, sender cached"] = await per_call_us_async(
                lambda i: handler(msgs[i % k]), n // 3
            )

        async def journal_one(i: int) -> None:
            key = f"micro:j:{i}"
            await journal.claim(dedupe_key=key, platform="mp", from_user="o" * 28, msg_type="text", content="帮助")
            await journal.settle(key, InboundStatus.replied, "<xml>reply</xml>")

        out["journal claim + settle, one message at a time (latency)"] = await per_call_us_async(journal_one, n // 30)
        batches = journal.batches
        out[f"journal claim + settle, {concurrency} in flight (wall per message)"] = await concurrent_us(
            journal_one, n, concurrency, 1_000_000
        )
        out["  journal operations (claims + settles) per transaction"] = n * 2 / max(journal.batches - batches, 1)

        fresh = iter(range(10**9))

        async def handle(i: int) -> None:
            m = msgs[i % k]  # a fresh MsgId each time, so none is a duplicate
            await service.handle(replace(m, raw={**m.raw, "MsgId": str(3_000_000_000 + next(fresh))}))

        out[f"CallbackService.handle, {concurrency} in flight (wall per message)"] = await concurrent_us(
            handle, n, concurrency, 0
        )
        return out
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pg", default=PG_DEFAULT)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="grassroots-micro-"))
    try:
        plain = load_requests("plain", 2000, 2_000_000_000, tmp)
        safe = load_requests("safe", 2000, 4_000_000_000, tmp)
        config = EmulatorConfig()
        results: dict[str, dict[str, float]] = {}
        for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
            db = sqlite_database(tmp) if name == "sqlite" else postgres_database(args.pg.rstrip("/"))
            try:
                env = service_env(db.url, free_port(), free_port())
                subprocess.run(
                    [str(Path(REPO, ".venv/bin/grassroots")), "migrate"], env=env, check=True, capture_output=True
                )
                asyncio.run(seed(db.url, config.mp_appid))
                values = {
                    k.removeprefix("GRASSROOTS_").lower(): v for k, v in env.items() if k.startswith("GRASSROOTS_")
                }
                settings = load_settings(**values)
                if not results:
                    results["(no database)"] = pure_pieces(settings, plain, safe, args.n)
                    results["(no database)"][
                        "SQL compile of one 32-claim multi-VALUES INSERT (journal at ea9211d), sqlite"
                    ] = compile_cost("sqlite")
                    results["(no database)"][
                        "SQL compile of one 32-claim multi-VALUES INSERT (journal at ea9211d), postgresql"
                    ] = compile_cost("postgresql")
                results[name] = asyncio.run(service_pieces(settings, plain, args.n, args.concurrency))
            finally:
                if db.cleanup:
                    db.cleanup()
        for group, figures in results.items():
            print(f"\n{group}")
            for label, value in figures.items():
                unit = "" if label.startswith("  journal operations") else " µs"
                print(f"  {value:10.1f}{unit}  {label}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
