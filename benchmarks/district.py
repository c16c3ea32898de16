"""The callback path at a district's scale: `grassroots serve` under wrk with senders the server has never
seen, against the bare aiohttp server (bare_server.py) measured in the same round. See
benchmarks/README.md ("The district benchmark").

    .venv/bin/python benchmarks/district.py [--databases sqlite,postgres] [--rounds 3] [--people 10000]
        [--workloads cold,first,burst,directory] [--probe] [--profile] [--directory-size 200000]

Workloads, each run against a freshly started server (so every sender is cold), each request once (wrk
with district.lua: a run is sized by requests, not by time), 64 connections, wrk pinned to another CPU:

- cold: `--people` MP senders never seen by this process — 75 % bound members, 12.5 % followers not on
  the roster, 12.5 % openids unknown to the database — each sending one everyday text or 帮助; plaintext
  and safe mode (`encrypt_type=aes`) in separate runs with separate senders;
- first: `--people` members just imported with WeCom userids (no identity yet) open the app (enter_agent)
  or send a first message through the WeCom callback, and are bound from the roster;
- burst: a confirmed notice to `--people` bound members (half WeCom, half MP plaintext), written by
  `compose_notice` + `confirm` (models/notice_send.py, what `grassroots notify --yes` does), its outbox
  rows then marked sent in the database as the dispatcher leaves them; each member answers once with 收到
  or a forgiving form, in random order; afterwards exactly `--people` receipts (engagement rows) must
  exist, one per member;
- directory: the directory grown to `--directory-size` identities: start-up time until a callback is
  answered, RSS idle and after a cold wave of `--directory-wave` senders.

After every service run: each request of the run is looked up in the inbound log by its dedupe key (every
2xx answer logged exactly once, nothing else), `/metrics` outcomes (no journal_error), and apologies
(系统繁忙) counted among the logged replies. Figures: req/s, ratio to the bare server of the same round
(medians over rounds), p50/p99, non-2xx and socket errors, server CPU µs per request, server peak RSS.

`--probe` adds one run per workload with benchmarks/district_probe_server.py (queries, commits, pool
waits, cache misses and drops, journal batches and lock waits per request); `--profile` one run of cold
(plaintext) and burst under py-spy (`.venv/bin/pip install py-spy`), folded stacks in results/.
Neither is part of the figures.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from benchmarks_path import HERE, REPO, ensure_repo_on_path

ensure_repo_on_path()

import httpx  # noqa: E402
from district_requests import (  # noqa: E402
    Message,
    Signer,
    ack_messages,
    cold_messages,
    first_contact_messages,
    read_keys,
    write_requests,
)
from district_seed import Roster, add_filler, filler_openid, plan, seed  # noqa: E402
from run import (  # noqa: E402
    PG_DEFAULT,
    RESULTS,
    VENV_BIN,
    Database,
    ProcSampler,
    _pg_fetch,
    free_port,
    grassroots,
    log,
    machine_notes,
    pinned,
    postgres_database,
    scrape_outcomes,
    server_and_load_cpus,
    service_env,
    sqlite_database,
    stop,
    vm_hwm_kb,
)

from bot.db import create_engine, create_session_factory  # noqa: E402

LUA = HERE / "district.lua"
TARGETS = {
    "cold-plain": 0.30, "cold-safe": 0.20, "first": 0.15, "burst": 0.15,
    "p99_ms": {"cold-plain": 50.0, "cold-safe": 50.0, "first": 100.0, "burst": 100.0},
    "directory_rss_mb": 300.0, "directory_start_s": 10.0,
}  # fmt: skip
LABELS = {
    "bare": "bare aiohttp",
    "cold-plain": "cold senders, plaintext",
    "cold-safe": "cold senders, safe mode",
    "first": "first contact (WeCom bind)",
    "burst": "收到 burst",
}
APOLOGY = "系统繁忙"
# MsgId ranges: ten digits, one block per (workload, set), checks apart.
MSGID = {
    "cold-plain": 2_000_000_000,
    "cold-safe": 3_000_000_000,
    "first": 4_000_000_000,
    "burst": 5_000_000_000,
    "directory": 6_000_000_000,
    "check": 7_000_000_000,
}
SET_STRIDE = 10_000_000
BARE_REQUESTS = 40_000  # the bare server's run: ~2-3 s


# wrk, sized by requests


@dataclass
class Wrk:
    requests: int
    seconds: float
    sent: int
    answered: int
    ok2xx: int
    non2xx: int
    socket_errors: int
    latency_ms: dict[str, float]
    finished: bool  # every request answered (else wrk ran into its time cap)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    url: str, requests_file: Path, *, total: int = 0, connections: int, cpu: str | None, cap_s: int = 600
) -> Wrk:
    """Sends the file's requests once each (or `total`, cycling: the bare server only) and returns when the
    last one is answered: district.lua prints BENCH_DONE, and wrk is interrupted so its clock stops."""
    cmd = pinned(
        ["wrk", "-t1", f"-c{connections}", f"-d{cap_s}s", "--latency", "--timeout", "10s", "-s", str(LUA), url], cpu
    )
    env = {**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_TOTAL": str(total)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    finished = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH_DONE") and not finished.is_set():
                finished.set()
                proc.send_signal(signal.SIGINT)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    proc.wait(cap_s + 60)
    thread.join(10)
    out = "".join(lines)
    if "BENCH_JSON" not in out:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}\n{proc.stderr.read() if proc.stderr else ''}")
    data = json.loads(out.split("BENCH_JSON", 1)[1].strip().splitlines()[0])
    e = data["errors"]
    return Wrk(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        sent=data["sent"],
        answered=data["answered"],
        ok2xx=data["ok2xx"],
        non2xx=e["status"],
        socket_errors=e["connect"] + e["read"] + e["write"] + e["timeout"],
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        finished=finished.is_set(),
    )


# The requests


@dataclass
class Workload:
    """One measured run's requests: a file for wrk and the check messages sent before it."""

    name: str  # cold-plain, cold-safe, first, burst
    set_index: int
    path: Path
    safe: bool
    messages: int
    checks: list[Message] = field(default_factory=list)
    answering: list[str] = field(default_factory=list)  # burst: the recipients who answer in this run


def make_requests(roster: Roster, folder: Path, names: list[str], answers: int) -> dict[tuple[str, int], Workload]:
    """`answers`: how many of the notice's recipients answer 收到 in a burst run (all of them by default)."""
    signer = Signer()
    out: dict[tuple[str, int], Workload] = {}
    now = int(time.time())
    for k in range(roster.sets):
        for name in names:
            base = MSGID[name] + k * SET_STRIDE
            check_base = MSGID["check"] + (list(MSGID).index(name) * 100 + k) * 1000
            if name.startswith("cold"):
                mode = name.split("-")[1]
                cs = roster.cold[(k, mode)]
                msgs = cold_messages(cs.bound, cs.followers, cs.strangers, msgid_base=base, seed=k * 7 + len(mode))
                checks = [
                    Message("mp", s, text=t, msg_id=check_base + i, create_time=now)
                    for i, (s, t) in enumerate(zip(cs.check, ["帮助", "你好"] * 3, strict=True))
                ]
            elif name == "first":
                msgs = first_contact_messages(roster.first[k], msgid_base=base, seed=k)
                users = roster.first_check[k]
                checks = [
                    Message("work", u, event="enter_agent", create_time=now)
                    if i % 2 == 0
                    else Message("work", u, text="帮助", msg_id=check_base + i, create_time=now)
                    for i, u in enumerate(users)
                ]
            else:
                answering = random.Random(k).sample(roster.burst, min(answers, len(roster.burst)))
                msgs = ack_messages(answering, msgid_base=base, seed=k)
                mine = roster.burst_check[k * 6 : (k + 1) * 6]
                checks = [
                    Message(p, u, text="收到", msg_id=check_base + i, create_time=now) for i, (p, u) in enumerate(mine)
                ]
            path = folder / f"{name}-{k}.txt"
            write_requests(path, msgs, safe=name == "cold-safe", signer=signer)
            out[(name, k)] = Workload(
                name,
                k,
                path,
                name == "cold-safe",
                len(msgs),
                checks,
                [u for _, u in answering] if name == "burst" else [],
            )
    return out


def expected_reply(name: str, content: str) -> bool:
    if APOLOGY in content:
        return False
    if name.startswith("cold"):
        return "可用指令" in content or "没看懂" in content
    if name == "first":
        return "已按花名册自动关联" in content
    return "已确认收到第" in content


def check_replies(base_url: str, w: Workload, signer: Signer) -> list[str]:
    """The check senders' callbacks through the real service, replies opened as WeChat would."""
    seen = []
    for m in w.checks:
        line = signer.request_line(m, safe=w.safe, timestamp=str(int(time.time())), nonce=str(random.randrange(10**9)))
        target, body = line.split("\t", 1)
        r = httpx.post(base_url + target, content=body.encode(), headers={"Content-Type": "text/xml"}, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"{w.name} check: HTTP {r.status_code}: {r.text[:200]}")
        query = dict(parse_qsl(urlsplit(target).query))
        reply = signer.open_reply(m, r.text, query, safe=w.safe)
        if m.event is not None and reply is None:
            raise RuntimeError(f"{w.name} check: no reply to {m.event} from {m.sender}")
        if reply is not None:
            if reply.get("MsgType") != "text" or reply.get("ToUserName") != m.sender:
                raise RuntimeError(f"{w.name} check: unexpected reply {reply}")
            if not expected_reply(w.name, reply.get("Content", "")):
                raise RuntimeError(f"{w.name} check: unexpected answer {reply.get('Content')!r} to {m.text or m.event}")
            seen.append(reply["Content"])
    return seen


# The database, read from outside the server


def _sqlite_path(db: Database) -> str:
    return urlsplit(db.url.replace("sqlite+aiosqlite:///", "file:///")).path


def query(db: Database, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """One read; `sql` uses $1.. placeholders (rewritten to ? for SQLite, where list arguments become a
    temp table `keys(k)` joined by the query as `keys`)."""
    if db.name == "sqlite":
        with sqlite3.connect(_sqlite_path(db), timeout=30) as conn:
            params: list[Any] = []
            for a in args:
                if isinstance(a, list):
                    conn.execute("CREATE TEMP TABLE IF NOT EXISTS keys (k TEXT PRIMARY KEY)")
                    conn.execute("DELETE FROM keys")
                    conn.executemany("INSERT OR IGNORE INTO keys VALUES (?)", [(x,) for x in a])
                else:
                    params.append(a)
            text = sql.replace("= ANY($1::varchar[])", "IN (SELECT k FROM keys)")
            for i in range(9, 0, -1):
                text = text.replace(f"${i}", "?")
            return conn.execute(text, params).fetchall()
    return asyncio.run(_pg_fetch(db.url, sql, *args))


def inbound_check(db: Database, keys: list[str]) -> dict[str, Any]:
    rows = query(
        db,
        "SELECT status, count(*), sum(CASE WHEN reply LIKE '%系统繁忙%' THEN 1 ELSE 0 END) "
        "FROM inbound_message WHERE dedupe_key = ANY($1::varchar[]) GROUP BY status",
        keys,
    )
    by_status = {str(s): int(n) for s, n, _ in rows}
    return {"rows": sum(by_status.values()), "by_status": by_status, "apologies": sum(int(a or 0) for *_, a in rows)}


def pg_xacts(db: Database) -> dict[str, int]:
    if db.name != "postgres":
        return {}
    name = db.url.rsplit("/", 1)[1]
    rows = query(
        db,
        "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched "
        "FROM pg_stat_database WHERE datname = $1",
        name,
    )
    return dict(
        zip(
            ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_fetched"),
            (int(v) for v in rows[0]),
            strict=True,
        )
    )


# The 收到 notice


async def confirm_notice(db: Database, roster: Roster, k: int) -> dict[str, Any]:
    """A notice to the BURST street's members, as `grassroots notify --as <secretary> --yes` writes it
    (compose_notice + confirm + audit, one commit), then its outbox rows marked sent as the dispatcher
    leaves a sent row (the server's dispatcher points at a dead API port: it must find nothing to send)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import update
    from sqlmodel import col

    from models.audit import record_audit
    from models.clock import utcnow
    from models.delivery import Delivery, DeliveryStatus
    from models.notice import Who
    from models.notice_send import Draft, compose_notice, confirm, orgs_by_code, role_orgs

    engine = create_engine(db.url)
    sessions = create_session_factory(engine)
    started = time.perf_counter()
    try:
        async with sessions() as s:
            now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
            draft = Draft(
                orgs=await orgs_by_code(s, [roster.burst_org_code]),
                who=[Who.members],
                text=f"第{k + 1}次通知：本周六上午九点在各支部活动室开展主题党日活动，请回复“收到”。",
            )
            composed = await compose_notice(session=s, draft=draft, roots=await role_orgs(s, roster.author_id), now=now)
            sent = await confirm(session=s, composed=composed, author_person_id=roster.author_id, quiet=None)
            record_audit(
                session=s,
                action="notice.cli",
                actor="cli",
                actor_person_id=roster.author_id,
                org_id=composed.issuing.id,
                notice_id=sent.notice.id,
                recipients=sent.count,
                people=sent.people,
                forced=composed.similar is not None,
            )
            await s.commit()
            notice_id = sent.notice.id
            confirmed = time.perf_counter()
            t = utcnow()
            marked = await s.exec(
                update(Delivery)
                .where(col(Delivery.subject_kind) == "notice", col(Delivery.subject_id) == notice_id)
                .values(status=DeliveryStatus.sent, attempts=1, sent_at=t, sending_at=t, errcode=0, lease_until=None)
            )
            await s.commit()
            return {
                "notice_id": notice_id,
                "rows": sent.count,
                "people": sent.people,
                "marked_sent": marked.rowcount,
                "confirm_s": round(confirmed - started, 2),
            }
    finally:
        await engine.dispose()


# One server run


@dataclass
class Run:
    database: str
    round: int  # 0: an extra run (probe or profile)
    workload: str
    wrk: Wrk
    cpu_seconds: float = 0.0
    rss_peak_mb: float = 0.0
    hwm_mb: float = 0.0
    start_s: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)
    threads: dict[str, float] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    ok: bool = True

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds * 1e6 / max(self.wrk.requests, 1)

    def as_json(self) -> dict[str, Any]:
        w = self.wrk
        return {
            "database": self.database,
            "round": self.round,
            "workload": self.workload,
            "requests": w.requests,
            "seconds": round(w.seconds, 3),
            "rps": round(w.rps, 1),
            "latency_ms": {k: round(v, 2) for k, v in w.latency_ms.items()},
            "sent": w.sent,
            "answered": w.answered,
            "ok2xx": w.ok2xx,
            "non2xx": w.non2xx,
            "socket_errors": w.socket_errors,
            "finished": w.finished,
            "cpu_us_per_request": round(self.cpu_us, 1),
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "vm_hwm_mb": round(self.hwm_mb, 1),
            "start_s": round(self.start_s, 2),
            "threads_cpu_s": self.threads,
            "checks": self.checks,
            "probe": self.probe,
            "ok": self.ok,
        }


def start_server(
    db: Database, args: argparse.Namespace, tmp: Path, label: str, *, probe: bool = False, timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], str, float]:
    port, dead = free_port(), free_port()
    env = service_env(db.url, port, dead)
    command = (
        [sys.executable, str(HERE / "district_probe_server.py")] if probe else [str(VENV_BIN / "grassroots"), "serve"]
    )
    logf = (tmp / f"serve-{label}.log").open("ab")
    started = time.perf_counter()
    server = subprocess.Popen(pinned(command, args.server_cpu), env=env, cwd=tmp, stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = started + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}; see {logf.name}")
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.perf_counter() > deadline:
            raise RuntimeError(f"server did not answer within {timeout:.0f} s")
        time.sleep(0.02)
    return server, url, time.perf_counter() - started


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    pyspy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if pyspy is None:
        log("  --profile: py-spy not found (.venv/bin/pip install py-spy); not profiling")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    # --idle: waiting threads too (the loop in epoll, aiosqlite's threads waiting for work or for SQLite).
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--nonblocking",
            "--threads",
            "--idle",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def workload_checks(db: Database, w: Workload, roster: Roster, notice: dict[str, Any] | None) -> dict[str, Any]:
    """What the workload itself must have done, read from the database."""
    if w.name == "first":
        users = roster.first[w.set_index]
        rows = query(
            db,
            "SELECT count(*), count(person_id) FROM identity WHERE platform = 'work' "
            "AND external_id = ANY($1::varchar[])",
            users,
        )
        return {"identities": int(rows[0][0]), "bound": int(rows[0][1]), "ok": int(rows[0][1]) == len(users)}
    if w.name == "burst" and notice:
        wanted = [roster.burst_person_of[u] for u in w.answering]
        rows = query(
            db,
            "SELECT count(*), count(DISTINCT person_id) FROM engagement WHERE subject_kind = 'notice' "
            "AND subject_id = $1 AND kind = 'acked'",
            notice["notice_id"],
        )
        total, distinct = int(rows[0][0]), int(rows[0][1])
        if db.name == "postgres":
            mine = query(
                db,
                "SELECT count(*) FROM engagement WHERE subject_kind = 'notice' AND subject_id = $2 "
                "AND kind = 'acked' AND person_id = ANY($1::int[])",
                wanted,
                notice["notice_id"],
            )
        else:
            with sqlite3.connect(_sqlite_path(db), timeout=30) as conn:
                conn.execute("CREATE TEMP TABLE p (id INTEGER PRIMARY KEY)")
                conn.executemany("INSERT INTO p VALUES (?)", [(i,) for i in wanted])
                mine = conn.execute(
                    "SELECT count(*) FROM engagement WHERE subject_kind = 'notice' AND subject_id = ? "
                    "AND kind = 'acked' AND person_id IN (SELECT id FROM p)",
                    (notice["notice_id"],),
                ).fetchall()
        measured = int(mine[0][0])
        checks_acked = total - measured
        return {
            "notice": notice,
            "receipts": total,
            "distinct_people": distinct,
            "receipts_of_measured": measured,
            "receipts_of_check_senders": checks_acked,
            "ok": measured == len(wanted) and total == distinct,
        }
    return {"ok": True}


def run_workload(
    db: Database,
    args: argparse.Namespace,
    tmp: Path,
    roster: Roster,
    w: Workload,
    rnd: int,
    *,
    probe: bool = False,
    profile: Path | None = None,
) -> Run:
    notice = asyncio.run(confirm_notice(db, roster, w.set_index)) if w.name == "burst" else None
    label = f"{db.name}-{w.name}-{w.set_index}{'-probe' if probe else ''}"
    server, url, start_s = start_server(db, args, tmp, label, probe=probe)
    try:
        check_replies(url, w, Signer())
        before = scrape_outcomes(url)
        xacts0 = pg_xacts(db)
        probe0 = httpx.get(url + "/__probe").json() if probe else None
        profiler = start_profiler(server.pid, profile) if profile else None
        with ProcSampler(server.pid) as sampler:
            wr = run_wrk(url, w.path, connections=args.connections, cpu=args.wrk_cpu)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        time.sleep(0.3)
        probe1 = httpx.get(url + "/__probe").json() if probe else None
        after = scrape_outcomes(url)
        xacts1 = pg_xacts(db)
        hwm = vm_hwm_kb(server.pid) / 1024
    finally:
        stop(server)
    outcomes = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    keys = read_keys(w.path, 0, wr.sent)
    inbound = inbound_check(db, keys)
    answered = int(sum(v for k, v in outcomes.items() if k != "journal_error" and not k.startswith("rejected")))
    inbound["answered_by_service"] = answered
    inbound["ok"] = (
        wr.finished
        and wr.sent == w.messages
        and inbound["rows"] == wr.ok2xx == answered
        and outcomes.get("journal_error", 0) == 0
        and inbound["apologies"] == 0
    )
    checks = {"inbound": inbound, "outcomes": outcomes, "workload": workload_checks(db, w, roster, notice)}
    if xacts0:
        checks["pg_stat_database"] = {k: xacts1[k] - xacts0[k] for k in xacts0}
    run = Run(
        db.name,
        rnd,
        w.name,
        wr,
        sampler.cpu_seconds,
        sampler.peak_kb / 1024,
        hwm,
        start_s,
        checks,
        sampler.thread_cpu_seconds,
        probe_delta(probe0, probe1, wr.requests) if probe else {},
        ok=inbound["ok"] and checks["workload"]["ok"],
    )
    return run


def probe_delta(a: dict[str, Any] | None, b: dict[str, Any] | None, requests: int) -> dict[str, Any]:
    if not a or not b:
        return {}
    ca, cb = a["counters"], b["counters"]
    counters = {k: cb[k] - ca.get(k, 0) for k in cb if cb[k] != ca.get(k, 0)}
    stmts = {}
    for key, (n, s) in b["statements"].items():
        n0, s0 = a["statements"].get(key, [0, 0.0])
        if n - n0:
            stmts[key] = {"per_request": round((n - n0) / requests, 3), "mean_ms": round((s - s0) / (n - n0) * 1e3, 3)}
    per = {k: round(v / requests, 4) for k, v in counters.items()}
    return {
        "requests": requests,
        "counters": counters,
        "per_request": per,
        "statements": dict(sorted(stmts.items(), key=lambda kv: -kv[1]["per_request"])),
        "loop_cpu_s": round(b["cpu_s"] - a["cpu_s"], 2),
        "wall_s": round(b["wall_s"] - a["wall_s"], 2),
    }


def describe(run: Run, bare: Run | None) -> str:
    w = run.wrk
    ratio = f"ratio {w.rps / bare.wrk.rps:.3f}  " if bare else ""
    inbound = run.checks.get("inbound", {})
    extra = ""
    if run.workload == "burst":
        c = run.checks["workload"]
        extra = f"  receipts {c.get('receipts_of_measured')}/{c.get('receipts')} distinct {c.get('distinct_people')}"
    if run.workload == "first":
        extra = f"  bound {run.checks['workload'].get('bound')}"
    return (
        f"{run.workload:10} {w.rps:8,.0f} req/s  {ratio}p50 {w.latency_ms['p50']:6.1f} p99 "
        f"{w.latency_ms['p99']:7.1f} ms  non-2xx {w.non2xx} sock {w.socket_errors}  CPU {run.cpu_us:5.0f} µs/req  "
        f"RSS {run.rss_peak_mb:4.0f} MB  start {run.start_s:.1f} s  logged {inbound.get('rows')}/{w.ok2xx}/{w.sent} "
        f"apologies {inbound.get('apologies')}{extra}" + ("" if run.ok else "  ** CHECK FAILED **")
    )


# The directory at 200,000 identities


def run_directory(db: Database, args: argparse.Namespace, tmp: Path, bare: Run | None) -> dict[str, Any]:
    t = time.perf_counter()
    total = asyncio.run(add_filler(db.url, args.directory_size))
    seeded = time.perf_counter() - t
    log(f"{db.name}: directory holds {total:,} identities (filler written in {seeded:.1f} s)")
    server, url, start_s = start_server(db, args, tmp, f"{db.name}-directory")
    out: dict[str, Any] = {"identities": total, "start_s": round(start_s, 2)}
    try:
        # Time until a real callback is answered (the health check above answered first).
        signer = Signer()
        m = Message("mp", filler_openid(0), text="帮助", msg_id=MSGID["directory"], create_time=int(time.time()))
        target, body = signer.request_line(m, safe=False, timestamp=str(int(time.time())), nonce="1").split("\t", 1)
        t = time.perf_counter()
        r = httpx.post(url + target, content=body.encode(), headers={"Content-Type": "text/xml"}, timeout=30)
        out["first_callback_s"] = round(start_s + time.perf_counter() - t, 2)
        out["first_callback_ok"] = r.status_code == 200 and "可用指令" in r.text
        out["rss_idle_mb"] = round(_rss_mb(server.pid), 1)
        wave = min(args.directory_wave, total - 1)
        if wave > 0:
            msgs = [
                Message(
                    "mp",
                    filler_openid(i),
                    text="帮助" if i % 3 == 0 else "你好",
                    msg_id=MSGID["directory"] + i,
                    create_time=int(time.time()),
                )
                for i in range(1, wave + 1)
            ]
            path = tmp / "directory-wave.txt"
            write_requests(path, msgs, safe=False, signer=signer)
            with ProcSampler(server.pid) as sampler:
                wr = run_wrk(url, path, connections=args.connections, cpu=args.wrk_cpu)
            time.sleep(0.3)
            inbound = inbound_check(db, read_keys(path, 0, wr.sent))
            out["wave"] = {
                "senders": wave,
                "rps": round(wr.rps),
                "ratio": round(wr.rps / bare.wrk.rps, 3) if bare else None,
                "p50_ms": wr.latency_ms["p50"],
                "p99_ms": wr.latency_ms["p99"],
                "non2xx": wr.non2xx,
                "socket_errors": wr.socket_errors,
                "cpu_us": round(sampler.cpu_seconds * 1e6 / wr.requests),
                "logged": inbound["rows"],
                "ok2xx": wr.ok2xx,
                "apologies": inbound["apologies"],
            }
            out["rss_after_wave_mb"] = round(_rss_mb(server.pid), 1)
            out["rss_peak_mb"] = round(sampler.peak_kb / 1024, 1)
            out["rss_per_cached_sender_kb"] = round((out["rss_after_wave_mb"] - out["rss_idle_mb"]) * 1024 / wave, 2)
        out["vm_hwm_mb"] = round(vm_hwm_kb(server.pid) / 1024, 1)
    finally:
        stop(server)
    out["ok"] = (
        out["start_s"] < TARGETS["directory_start_s"]
        and out.get("first_callback_ok", False)
        and out["vm_hwm_mb"] < TARGETS["directory_rss_mb"]
    )
    log(f"{db.name}: directory {json.dumps(out, ensure_ascii=False)}")
    return out


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# One database


def bench_database(
    db: Database,
    args: argparse.Namespace,
    tmp: Path,
    roster_plan: Roster,
    files: dict[tuple[str, int], Workload],
    bare_url: str,
    bare_pid: int,
    bare_file: Path,
) -> dict[str, Any]:
    env = service_env(db.url, free_port(), free_port())
    log(f"{db.name}: migrate and seed {args.people:,} people per set, {roster_plan.sets} sets")
    grassroots(["migrate"], env, tmp)
    t = time.perf_counter()
    roster = asyncio.run(seed(db.url, args.people, roster_plan.sets, args.answers))
    log(f"{db.name}: seeded {roster.identities:,} identities in {time.perf_counter() - t:.1f} s")
    runs: list[Run] = []
    extra: list[Run] = []
    names = [n for n in ("cold-plain", "cold-safe", "first", "burst") if n.split("-")[0] in args.workloads]
    bare_by_round: dict[int, Run] = {}
    for rnd in range(1, args.rounds + 1):
        with ProcSampler(bare_pid) as sampler:
            w = run_wrk(bare_url, bare_file, total=BARE_REQUESTS, connections=args.connections, cpu=args.wrk_cpu)
        bare = Run(db.name, rnd, "bare", w, sampler.cpu_seconds, sampler.peak_kb / 1024)
        bare_by_round[rnd] = bare
        runs.append(bare)
        log(f"{db.name} round {rnd}: {describe(bare, None)}")
        for name in names:
            run = run_workload(db, args, tmp, roster, files[(name, rnd - 1)], rnd)
            runs.append(run)
            log(f"{db.name} round {rnd}: {describe(run, bare)}")
    k = args.rounds
    if args.probe:
        for name in names:
            run = run_workload(db, args, tmp, roster, files[(name, k)], 0, probe=True)
            extra.append(run)
            log(f"{db.name} probe: {describe(run, bare_by_round.get(1))}")
            log(f"  probe per request: {json.dumps(run.probe.get('per_request'), ensure_ascii=False)}")
        k += 1
    if args.profile:
        RESULTS.mkdir(exist_ok=True)
        for name in [n for n in names if n in ("cold-plain", "burst", "first")]:
            out = RESULTS / f"district-profile-{db.name}-{name}.folded"
            run = run_workload(db, args, tmp, roster, files[(name, k)], 0, profile=out)
            run.probe = {"profile": str(out)}
            extra.append(run)
            log(f"{db.name} profile: {describe(run, bare_by_round.get(1))} -> {out}")
    directory = run_directory(db, args, tmp, bare_by_round.get(1)) if "directory" in args.workloads else None
    return {"runs": runs, "extra": extra, "directory": directory, "identities": roster.identities}


# Report


def summarise(runs: list[Run]) -> list[dict[str, Any]]:
    rows = []
    for db in dict.fromkeys(r.database for r in runs):
        bare = {r.round: r for r in runs if r.database == db and r.workload == "bare"}
        for name in LABELS:
            mine = [r for r in runs if r.database == db and r.workload == name]
            if not mine:
                continue
            ratios = [r.wrk.rps / bare[r.round].wrk.rps for r in mine]
            row = {
                "database": db,
                "workload": name,
                "rounds": len(mine),
                "rps_median": statistics.median(r.wrk.rps for r in mine),
                "rps_all": [round(r.wrk.rps) for r in mine],
                "ratio_median": statistics.median(ratios),
                "ratio_all": [round(x, 3) for x in ratios],
                "p50_ms_median": statistics.median(r.wrk.latency_ms["p50"] for r in mine),
                "p99_ms_median": statistics.median(r.wrk.latency_ms["p99"] for r in mine),
                "p99_ms_max": max(r.wrk.latency_ms["p99"] for r in mine),
                "non2xx": sum(r.wrk.non2xx for r in mine),
                "socket_errors": sum(r.wrk.socket_errors for r in mine),
                "cpu_us_median": statistics.median(r.cpu_us for r in mine),
                "rss_peak_mb": max(max(r.rss_peak_mb, r.hwm_mb) for r in mine),
                "start_s_median": statistics.median(r.start_s for r in mine) if name != "bare" else None,
                "apologies": sum(r.checks.get("inbound", {}).get("apologies", 0) for r in mine),
                "checks_ok": all(r.ok for r in mine),
            }
            if name != "bare":
                row["pass"] = {
                    f"ratio>={TARGETS[name]}": row["ratio_median"] >= TARGETS[name],
                    f"p99<{TARGETS['p99_ms'][name]:.0f}ms": row["p99_ms_median"] < TARGETS["p99_ms"][name],
                    "zero errors": row["non2xx"] == 0 and row["socket_errors"] == 0 and row["apologies"] == 0,
                    "checks": row["checks_ok"],
                }
            rows.append(row)
    return rows


def markdown(summary: list[dict[str, Any]], directory: dict[str, Any], extra: list[Run], meta: dict[str, Any]) -> str:
    dirty = ", uncommitted changes outside benchmarks/" if meta["dirty"] else ""
    out = [
        f"Run {meta['started']} (git {meta['git']}{dirty}) on {meta['machine']}; {meta['people']:,} senders per "
        f"cold run, {meta['answers']:,} per first-contact and 收到 run "
        f"(the notice to {meta['people']:,}), wrk -t1 -c{meta['connections']}, each request "
        f"once; {meta['rounds']} round(s), medians; ratio = req/s ÷ bare req/s of the same round; server on CPU "
        f"{meta['server_cpu'] or '-'}, wrk on CPU {meta['wrk_cpu'] or '-'}.",
        "",
        "| database | workload | req/s | × bare (rounds) | target | p50 ms | p99 ms (max) | non-2xx + sock | apologies "
        "| CPU µs/req | peak RSS MB | start s | checks | pass |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in summary:
        name = r["workload"]
        target = f"≥ {TARGETS[name]:.2f}" if name != "bare" else ""
        verdict = (
            ""
            if name == "bare"
            else ("PASS" if all(r["pass"].values()) else "FAIL: " + ", ".join(k for k, v in r["pass"].items() if not v))
        )
        start = f"{r['start_s_median']:.1f}" if r["start_s_median"] is not None else ""
        out.append(
            f"| {r['database']} | {LABELS[name]} | {r['rps_median']:,.0f} | {r['ratio_median']:.3f} "
            f"({' / '.join(f'{x:.3f}' for x in r['ratio_all'])}) | {target} | {r['p50_ms_median']:.1f} "
            f"| {r['p99_ms_median']:.1f} ({r['p99_ms_max']:.1f}) | {r['non2xx'] + r['socket_errors']} "
            f"| {r['apologies']} "
            f"| {r['cpu_us_median']:.0f} | {r['rss_peak_mb']:.0f} | {start} | {'ok' if r['checks_ok'] else 'FAILED'} "
            f"| {verdict} |"
        )
    if directory:
        out += ["", "Directory (workload 4):", ""]
        for db, d in directory.items():
            if d:
                out.append(f"- {db}: {json.dumps(d, ensure_ascii=False)}")
    probes = [r for r in extra if r.probe and "per_request" in r.probe]
    if probes:
        out += ["", "Probe runs (district_probe_server.py; per request):", ""]
        for r in probes:
            p = r.probe["per_request"]
            out.append(
                f"- {r.database} {r.workload}: {r.wrk.rps:,.0f} req/s, "
                + ", ".join(f"{k} {v}" for k, v in p.items() if not k.startswith("loop.lag"))
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The callback path at a district's scale (see benchmarks/README.md)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--people", type=int, default=10_000, help="senders per run (default 10,000)")
    parser.add_argument(
        "--workloads", default="cold,first,burst,directory", help="comma-separated: cold, first, burst, directory"
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=0,
        help="senders of the first-contact and burst runs (default --people; the notice always goes "
        "to --people members, this many of them answer)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--directory-size", type=int, default=200_000, help="identities for the directory workload")
    parser.add_argument(
        "--directory-wave",
        type=int,
        default=10_000,
        help="cold senders sent to the 200,000-identity server after its start (0: none)",
    )
    parser.add_argument("--probe", action="store_true", help="one instrumented run per workload (not in the figures)")
    parser.add_argument("--profile", action="store_true", help="one py-spy run of cold-plain, first and burst")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.answers = args.answers or args.people
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    args.server_cpu, args.wrk_cpu = server_and_load_cpus(not args.no_pin)
    started = dt.datetime.now()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_notes(),
        "rounds": args.rounds,
        "people": args.people,
        "answers": args.answers,
        "connections": args.connections,
        "server_cpu": args.server_cpu,
        "wrk_cpu": args.wrk_cpu,
        "workloads": args.workloads,
        "targets": TARGETS,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "dirty": any(not line[3:].startswith("benchmarks/") for line in status.splitlines()),
        "uncommitted": [line[3:] for line in status.splitlines() if not line[3:].startswith("benchmarks/")],
        "loadavg_before": os.getloadavg(),
    }
    sets = args.rounds + int(args.probe) + int(args.profile)
    roster_plan = plan(args.people, sets, args.answers)
    tmp_root = Path(tempfile.mkdtemp(prefix="grassroots-district-"))
    names = [n for n in ("cold-plain", "cold-safe", "first", "burst") if n.split("-")[0] in args.workloads]
    t = time.perf_counter()
    files = make_requests(roster_plan, tmp_root, list(dict.fromkeys(["cold-plain", *names])), args.answers)
    log(
        f"generated {sum(w.messages for w in files.values()):,} requests ({len(files)} files) in "
        f"{time.perf_counter() - t:.1f} s; server CPU {args.server_cpu}, wrk CPU {args.wrk_cpu}"
    )
    # The bare server gets MP plaintext callbacks (it serves /wechat/mp only), cycled: it keeps nothing.
    bare_file = files[("cold-plain", 0)].path if ("cold-plain", 0) in files else next(iter(files.values())).path
    bare_port = free_port()
    bare = subprocess.Popen(
        pinned([sys.executable, str(HERE / "bare_server.py"), "--port", str(bare_port)], args.server_cpu),
        stdout=subprocess.DEVNULL,
    )
    runs: list[Run] = []
    extra: list[Run] = []
    directory: dict[str, Any] = {}
    try:
        bare_url = f"http://127.0.0.1:{bare_port}"
        from run import wait_http

        wait_http(bare_url + "/", bare)
        for name in (d.strip() for d in args.databases.split(",") if d.strip()):
            tmp = tmp_root / name
            tmp.mkdir()
            db = sqlite_database(tmp) if name == "sqlite" else postgres_database(args.pg.rstrip("/"))
            try:
                result = bench_database(db, args, tmp, roster_plan, files, bare_url, bare.pid, bare_file)
                runs += result["runs"]
                extra += result["extra"]
                directory[name] = result["directory"]
            finally:
                if db.cleanup:
                    db.cleanup()
    finally:
        stop(bare)
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"kept {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)
    meta["loadavg_after"] = os.getloadavg()
    summary = summarise(runs)
    md = markdown(summary, directory, extra, meta)
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"district-{stamp}.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "summary": summary,
                "directory": directory,
                "runs": [r.as_json() for r in runs],
                "extra_runs": [r.as_json() for r in extra],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    (RESULTS / f"district-{stamp}.md").write_text(md)
    (RESULTS / "district-latest.md").write_text(md)
    print()
    print(md)
    print(f"results: {RESULTS / f'district-{stamp}.json'}")
    failed = [r for r in summary if r["workload"] != "bare" and not all(r["pass"].values())]
    failed_dir = [d for d in directory.values() if d and not d["ok"]]
    return 1 if failed or failed_dir else 0


if __name__ == "__main__":
    raise SystemExit(main())
