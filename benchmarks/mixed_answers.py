"""The members of the mixed burst (benchmarks/mixed_burst.py), as a load generator in a process of its own:
each member answers 收到 (or one of its forgiving forms) once the dispatcher has sent them the notice —
a member cannot confirm what has not reached them — through `--connections` concurrent connections,
each request signed with wechatpy's crypto (district_requests.Signer) and with its own MsgId.

    .venv/bin/python benchmarks/mixed_answers.py --server URL --database URL --after N --people P --out FILE

It watches the outbox rows of the first notice with an id above `--after` (every 50 ms, the rows sent
since the last look), answers each recipient once, and stops when `--people` have answered or after
`--timeout` seconds. Writes JSON: answers, HTTP statuses, deferred answers (an empty "success" where a
reply was due), latencies (p50 / p99 / max ms), and when the first and last answer went."""

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from benchmarks_path import ensure_repo_on_path

ensure_repo_on_path()

import aiohttp  # noqa: E402
from district_requests import ACKS, Message, Signer  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.db import create_engine  # noqa: E402

PLATFORM = {"work_app": "work", "mp_custom": "mp", "mp_template": "mp"}
SENT_SINCE = text(
    "SELECT channel, recipient, sent_at FROM delivery WHERE subject_kind = 'notice' AND subject_id = :n "
    "AND status = 'sent' AND sent_at >= :since"
)
NOTICE_AFTER = text("SELECT min(id) FROM notice WHERE id > :after")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def watch(database_url: str, after: int, queue: asyncio.Queue[tuple[str, str]], people: int,
                deadline: float) -> int:
    """Feeds each recipient whose row is sent into the queue, once; returns the notice id."""
    engine = create_engine(database_url)
    seen: set[tuple[str, str]] = set()
    try:
        notice_id = None
        while notice_id is None and time.monotonic() < deadline:
            async with engine.connect() as conn:
                notice_id = (await conn.execute(NOTICE_AFTER, {"after": after})).scalar()
            if notice_id is None:
                await asyncio.sleep(0.02)
        if notice_id is None:
            return 0
        # The rows' own sent_at comes back as the driver gives it (text on SQLite): the first look from the start.
        since: Any = "1970-01-01" if database_url.startswith("sqlite") else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        while len(seen) < people and time.monotonic() < deadline:
            async with engine.connect() as conn:
                rows = (await conn.execute(SENT_SINCE, {"n": notice_id, "since": since})).all()
            fresh = [(PLATFORM[ch], who) for ch, who, _at in rows if (PLATFORM[ch], who) not in seen]
            random.shuffle(fresh)  # those sent in one call answer in any order
            for key in fresh:
                seen.add(key)
                queue.put_nowait(key)
            if rows:
                since = max(at for *_x, at in rows)
            await asyncio.sleep(0.05)
        return int(notice_id)
    finally:
        await engine.dispose()


async def answer(args: argparse.Namespace) -> dict[str, Any]:
    signer = Signer()
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    deadline = time.monotonic() + args.timeout
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deferred = 0
    first = last = 0.0
    msg_id = args.msgid_base
    done = 0
    rng = random.Random(7)
    everyone_answered = asyncio.Event()
    # aiohttp rather than httpx: the generator must cost far less than the server it loads.
    connector = aiohttp.TCPConnector(limit=args.connections)
    async with aiohttp.ClientSession(args.server, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def worker() -> None:
            nonlocal deferred, first, last, msg_id, done
            while True:
                platform, user = await queue.get()
                msg_id += 1
                stamp = str(int(time.time()))
                line = signer.request_line(Message(platform, user, text=rng.choice(ACKS), msg_id=msg_id,
                                                   create_time=int(stamp)),
                                           safe=True, timestamp=stamp, nonce=f"{msg_id:x}")
                target, body = line.split("\t", 1)
                parts = urlsplit(target)
                started = time.perf_counter()
                first = first or started
                try:
                    async with client.post(parts.path, params=dict(parse_qsl(parts.query)),
                                           data=body.encode()) as r:
                        reply = await r.text()
                    statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                    if r.status == 200 and reply == "success":
                        deferred += 1  # every 收到 is owed a reply: "success" means it was put off
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                last = time.perf_counter()
                latencies.append((last - started) * 1000)
                done += 1
                if done >= args.people:
                    everyone_answered.set()

        workers = [asyncio.create_task(worker()) for _ in range(args.connections)]
        notice_id = await watch(args.database, args.after, queue, args.people, deadline)
        try:
            await asyncio.wait_for(everyone_answered.wait(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            pass
        for w in workers:
            w.cancel()
    return {
        "notice_id": notice_id,
        "answers": done,
        "statuses": statuses,
        "deferred": deferred,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
        "answering_s": round(last - first, 3) if first else 0.0,
        "msgids": [args.msgid_base + 1, msg_id],
        "generator_cpu_s": round(time.process_time(), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--after", type=int, required=True, help="answer the first notice with an id above this")
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--msgid-base", type=int, default=7_000_000_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(asyncio.run(answer(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
