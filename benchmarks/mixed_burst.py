"""Mixed burst: the members' 收到 arrive while the dispatcher is still sending the same notice. See
benchmarks/README.md ("The mixed burst").

    .venv/bin/python benchmarks/mixed_burst.py [--rounds 2] [--databases sqlite,postgres] [--people 4000,3000,3000]

For each database: create it, migrate, seed the district (WeCom members, Official Account members inside
and outside the 48 h window: delivery_seed), start the WeChat emulator (`grassroots emulator`) and
`grassroots serve` as processes of their own, register every user with the emulator; then per round
  1. alone: a notice to every member, timed from 确认 until the dispatcher has settled every outbox row;
  2. mixed: the same again, and from the moment each member's row is sent, that member answers 收到 (or a
     forgiving form) through benchmarks/mixed_answers.py — another process, 64 connections, each request
     signed with wechatpy's crypto and with its own MsgId.
Figures: the send time of the mixed round against the alone round of the same round number (target
≤ 1.5 ×), the answers' p50 / p99 (target < 100 ms), deferred answers (target 0). Checks after each mixed
round, from the database: every answer logged exactly once, no apology (系统繁忙), exactly one receipt per
member for the notice; from the emulator: every member got the notice exactly once."""

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks_path import REPO, ensure_repo_on_path

ensure_repo_on_path()

import httpx  # noqa: E402
from delivery import check, confirm_and_wait, delivered_counts, register_users, reset, service_env  # noqa: E402
from delivery_seed import Roster, seed  # noqa: E402
from run import (  # noqa: E402
    PG_DEFAULT,
    RESULTS,
    VENV_BIN,
    Database,
    ProcSampler,
    each_database,
    free_port,
    log,
    machine_notes,
    pinned,
    server_and_load_cpus,
    stop,
    wait_http,
    write_results,
)
from sqlalchemy import text  # noqa: E402

from bot.db import create_engine  # noqa: E402

HERE = Path(__file__).resolve().parent
# As in the callback benchmarks: the server on the first CPU, the emulator and the answering members on
# the last, so that neither of them takes the server's time (PostgreSQL runs where the system puts it).
SERVER, OTHERS = server_and_load_cpus()
TARGETS = {"send_ratio": 1.5, "p99_ms": 100.0, "deferred": 0}


async def _scalars(database_url: str, sql: str, **params: Any) -> tuple[Any, ...]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(text(sql), params)).one())
    finally:
        await engine.dispose()


def after_checks(db: Database, notice_id: int, since: dt.datetime, answered: dict[str, Any],
                 people: int) -> dict[str, Any]:
    receipts, distinct = asyncio.run(_scalars(
        db.url, "SELECT count(*), count(DISTINCT person_id) FROM engagement WHERE subject_kind = 'notice' "
        "AND subject_id = :n AND kind = 'acked'", n=notice_id))
    first, last = answered["msgids"]
    keys = [f"{p}:%:m:%" for p in ("mp", "work")]
    logged, apologies, keys_logged = asyncio.run(_scalars(
        db.url, "SELECT count(*), coalesce(sum(CASE WHEN reply LIKE '%系统繁忙%' THEN 1 ELSE 0 END), 0), "
        "count(DISTINCT dedupe_key) FROM inbound_message WHERE received_at >= :since "
        "AND (dedupe_key LIKE :k1 OR dedupe_key LIKE :k2)", since=since, k1=keys[0], k2=keys[1]))
    return {
        "receipts": int(receipts), "receipts_distinct": int(distinct), "logged": int(logged),
        "logged_distinct": int(keys_logged), "apologies": int(apologies), "msgids": last - first + 1,
        "ok": (int(receipts) == int(distinct) == people == answered["answers"] == int(logged) == int(keys_logged)
               and int(apologies) == 0 and answered["statuses"] == {"200": people}),
    }


def one_round(db: Database, args: argparse.Namespace, roster: Roster, control: httpx.Client, port: int,
              server_pid: int, n: int, tmp: Path) -> dict[str, Any]:
    control.post("/emulator/reset").raise_for_status()
    with ProcSampler(server_pid) as sampler:
        alone = asyncio.run(confirm_and_wait(db.url, roster, args.timeout))
    alone_cpu = sampler.cpu_seconds
    counts, _ = asyncio.run(_counts(control.base_url))
    alone_checks = check(alone, counts, roster)

    control.post("/emulator/reset").raise_for_status()
    out = tmp / f"answers-{n}.json"
    since = dt.datetime.now(dt.UTC)
    answerer = subprocess.Popen(
        pinned([sys.executable, str(HERE / "mixed_answers.py"), "--server", f"http://127.0.0.1:{port}", "--database",
         db.url, "--after", str(alone["notice_id"]), "--people", str(roster.total), "--connections",
         str(args.connections), "--msgid-base", str(7_000_000_000 + n * 100_000), "--out", str(out),
         "--timeout", str(args.timeout)], OTHERS),
        cwd=tmp, stdout=(tmp / f"answers-{n}.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    profiler = None
    if args.profile:  # the server during the mixed round, folded stacks in results/
        profiler = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "--pid", str(server_pid), "--rate", "250",
                                     "--nonblocking", "--threads", "--format", "raw", "--output",
                                     str(RESULTS / f"mixed-profile-{db.name}-{n}.folded")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with ProcSampler(server_pid) as sampler:
            mixed = asyncio.run(confirm_and_wait(db.url, roster, args.timeout))
            answerer.wait(args.timeout)
    finally:
        if answerer.poll() is None:
            answerer.kill()
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
    answered = json.loads(out.read_text())
    counts, _ = asyncio.run(_counts(control.base_url))
    row = {
        "round": n,
        "alone_s": round(alone["total_s"], 3),
        "mixed_s": round(mixed["total_s"], 3),
        "send_ratio": round(mixed["total_s"] / alone["total_s"], 2),
        "alone_cpu_s": round(alone_cpu, 2),
        "mixed_cpu_s": round(sampler.cpu_seconds, 2),
        "answers": answered,
        "alone_delivery": alone_checks,
        "mixed_delivery": check(mixed, counts, roster),
        "after": after_checks(db, mixed["notice_id"], since, answered, roster.total),
    }
    return row


async def _counts(base_url: Any) -> Any:
    async with httpx.AsyncClient(base_url=str(base_url), timeout=60) as client:
        return await delivered_counts(client)


def bench_database(db: Database, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    work, window, template = (int(n) for n in args.people.split(","))
    port, emu_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emu_port}"
    env = service_env(db.url, port, emulator_url, args.idle)
    out = subprocess.run([str(VENV_BIN / "grassroots"), "migrate"], env=env, cwd=tmp, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"migrate failed: {out.stderr}")
    t = time.perf_counter()
    roster = asyncio.run(seed(db.url, work=work, window=window, template=template))
    log(f"{db.name}: seeded {roster.total} people in {time.perf_counter() - t:.1f} s")
    emu = subprocess.Popen(
        pinned([str(VENV_BIN / "grassroots"), "emulator", "--port", str(emu_port), "--mp-callback", "",
                "--work-callback", f"http://127.0.0.1:{port}/wechat/work"], OTHERS),
        env=env, cwd=tmp, stdout=(tmp / "emulator.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = None
    rounds = []
    try:
        wait_http(emulator_url + "/emulator", emu)
        server = subprocess.Popen(
            pinned([sys.executable, "-m", "bot.cli", "serve"], SERVER), env=env, cwd=tmp,
            stdout=(tmp / "server.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        asyncio.run(_register(emulator_url, roster))
        with httpx.Client(base_url=emulator_url, timeout=60) as control:
            for n in range(1, args.rounds + 1):
                row = one_round(db, args, roster, control, port, server.pid, n, tmp)
                rounds.append(row)
                log(f"{db.name} round {n}: {json.dumps(row, ensure_ascii=False)}")
    finally:
        if server is not None:
            stop(server)
        stop(emu)
    return summarise(db, roster, rounds)


async def _register(emulator_url: str, roster: Roster) -> None:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=30) as control:
        await reset(control)
        await register_users(control, roster)


def summarise(db: Database, roster: Roster, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    p99 = max(r["answers"]["p99_ms"] for r in rounds)
    deferred = sum(r["answers"]["deferred"] for r in rounds)
    checks_ok = all(r["after"]["ok"] and r["mixed_delivery"]["duplicates"] == 0
                    and r["mixed_delivery"]["people_not_reached"] == 0 for r in rounds)
    summary = {
        "database": db.name,
        "people": roster.total,
        "alone_s": median("alone_s"),
        "mixed_s": median("mixed_s"),
        "send_ratio": median("send_ratio"),
        "p50_ms": statistics.median(r["answers"]["p50_ms"] for r in rounds),
        "p99_ms": p99,
        "deferred": deferred,
        "rounds": rounds,
    }
    summary["pass"] = {"send_ratio": summary["send_ratio"] <= TARGETS["send_ratio"],
                       "p99_ms": p99 < TARGETS["p99_ms"], "deferred": deferred == 0, "checks": checks_ok}
    return summary


def markdown(summaries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Mixed burst {meta['started']}",
        "",
        f"{meta['machine']}; git {meta['git']}; {meta['rounds']} rounds (medians; p99 the worst round); "
        f"{meta['connections']} answering connections.",
        "",
        "| database | people | send alone s | send while answered s | × (≤ 1.5) | answers p50 ms | p99 ms (< 100) "
        "| deferred | checks | pass |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in summaries:
        ok = "yes" if all(s["pass"].values()) else "NO: " + ", ".join(k for k, v in s["pass"].items() if not v)
        lines.append(f"| {s['database']} | {s['people']:,} | {s['alone_s']:.2f} | {s['mixed_s']:.2f} "
                     f"| {s['send_ratio']:.2f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['deferred']} "
                     f"| {'ok' if s['pass']['checks'] else 'FAILED'} | {ok} |")
    lines += ["", "Per round:", ""]
    for s in summaries:
        for r in s["rounds"]:
            a, after = r["answers"], r["after"]
            lines.append(
                f"- {s['database']} round {r['round']}: alone {r['alone_s']:.2f} s "
                f"(server CPU {r['alone_cpu_s']:.1f} s), mixed {r['mixed_s']:.2f} s (CPU {r['mixed_cpu_s']:.1f} s), "
                f"×{r['send_ratio']:.2f}; {a['answers']:,} answers over {a['answering_s']:.1f} s, "
                f"p50 {a['p50_ms']} / p99 {a['p99_ms']} / max {a['max_ms']} ms "
                f"(generator CPU {a.get('generator_cpu_s')} s), statuses {a['statuses']}, deferred {a['deferred']}; "
                f"receipts {after['receipts']:,} ({after['receipts_distinct']:,} people), logged {after['logged']:,}, "
                f"apologies {after['apologies']}; delivery duplicates {r['mixed_delivery']['duplicates']}, "
                f"not reached {r['mixed_delivery']['people_not_reached']}"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mixed burst benchmark (see benchmarks/README.md)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--people", default="4000,3000,3000", help="WeCom, MP in the 48 h window, MP template")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--idle", type=float, default=0.1, help="GRASSROOTS_DISPATCH_IDLE of the server")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--profile", action="store_true", help="py-spy on the server during the mixed rounds")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_notes(),
        "rounds": args.rounds,
        "connections": args.connections,
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        .stdout.strip(),
        "targets": TARGETS,
    }
    summaries = each_database(args.databases, args.pg, "mixed", lambda db, tmp: bench_database(db, args, tmp))
    write_results("mixed", started, meta, summaries, markdown(summaries, meta))
    return 0 if all(all(s["pass"].values()) for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
