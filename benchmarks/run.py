"""Callback hot-path benchmark: `grassroots serve` under wrk, against a bare aiohttp hello-world
measured in the same run. See benchmarks/README.md.

    .venv/bin/python benchmarks/run.py [--duration 10] [--rounds 3] [--databases sqlite,postgres]

For each database: create it (SQLite file in a temp dir; a scratch PostgreSQL database, dropped after),
`grassroots migrate`, seed a small roster, start `grassroots serve` as a subprocess, check that a few
callbacks of each mode get the right reply, warm up, then for each round run wrk on the bare server,
the plaintext path and the safe-mode path, each with -c64 for --duration seconds. The service's runs use
pre-generated callbacks with unique MsgIds (never a duplicate), and after each run the inbound log is
counted: every request wrk sent, none lost and nothing else. Figures per run: req/s, latency
percentiles, non-2xx, peak RSS of the server, the server's CPU use. Ratios are taken against the bare
run of the same round; the table shows medians over the rounds.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks_path import HERE, REPO, ensure_repo_on_path

ensure_repo_on_path()

import httpx  # noqa: E402
from make_requests import generate  # noqa: E402
from seed import seed, users  # noqa: E402

from emulator import EmulatorConfig  # noqa: E402
from emulator.callback_crypto import CallbackCodec  # noqa: E402

VENV_BIN = Path(sys.executable).parent
LUA = HERE / "callback.lua"
RESULTS = HERE / "results"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432"

# MsgId ranges (all ten digits, so dedupe keys sort as the numbers do).
MSGID_CHECK = {"plain": 1_100_000_000, "safe": 1_200_000_000}
MSGID_WARMUP = {"plain": 1_300_000_000, "safe": 1_500_000_000}
MSGID_RUN = {"plain": 2_000_000_000, "safe": 4_000_000_000}

TARGETS = {"plain_ratio": 0.30, "safe_ratio": 0.20, "p99_ms": 50.0, "rss_mb": 200.0}
MODES = {"bare": "bare aiohttp", "plain": "plaintext path", "safe": "safe-mode path"}


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cmd: list[str], cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if cpu is not None else cmd


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ProcSampler:
    """Samples a process's resident set and CPU time while a load runs."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu0 = self._cpu_seconds()
        self._threads0 = self._thread_cpu()
        self._t0 = time.monotonic()
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self.thread_cpu_seconds: dict[str, float] = {}  # by thread name, e.g. the journal's writer

    def _rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def _cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def _thread_cpu(self) -> dict[str, float]:
        """CPU seconds of each thread: "main thread" (the event loop) and "thread <tid>"."""
        out = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            label = "main thread" if task.name == str(self.pid) else f"thread {task.name}"
            out[label] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self._rss_kb())
            except OSError:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "ProcSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, self._rss_kb())
        self.cpu_seconds = self._cpu_seconds() - self._cpu0
        self.wall_seconds = time.monotonic() - self._t0
        after = self._thread_cpu()
        spent = {k: v - self._threads0.get(k, 0.0) for k, v in after.items()}
        self.thread_cpu_seconds = {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1]) if v > 0}


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# wrk


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    non2xx: int
    socket_errors: int
    sent: int
    reused: int
    available: int
    latency_ms: dict[str, float]
    raw: str = ""

    @property
    def ok2xx(self) -> int:
        return self.requests - self.non2xx


def run_wrk(
    base_url: str, requests_file: Path, *, skip: int, duration: int, connections: int, cpu: str | None
) -> WrkResult:
    cmd = pinned(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s", "-s", str(LUA), base_url],
        cpu,
    )
    env = {**os.environ, "BENCH_REQUESTS": str(requests_file), "BENCH_THREADS": "1", "BENCH_SKIP": str(skip)}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0 or "BENCH_JSON" not in out.stdout:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(out.stdout.split("BENCH_JSON", 1)[1].strip().splitlines()[0])
    e = data["errors"]
    seconds = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds,
        non2xx=e["status"],
        socket_errors=e["connect"] + e["read"] + e["write"] + e["timeout"],
        sent=data["sent"],
        reused=data["reused"],
        available=data["available"],
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        raw=out.stdout,
    )


# Requests


class RequestFile:
    """One mode's pre-generated callbacks, grown on demand; runs take consecutive, unused slices."""

    def __init__(self, mode: str, folder: Path, msgid_base: int) -> None:
        self.mode = mode
        self.path = folder / f"{mode}-{msgid_base}.txt"
        self.msgid_base = msgid_base
        self.lines = 0
        self.used = 0
        self.path.write_text("")

    def ensure(self, wanted: int) -> None:
        """At least `wanted` unused requests after the ones used so far."""
        missing = self.used + wanted - self.lines
        if missing <= 0:
            return
        started = time.perf_counter()
        part = self.path.with_suffix(".part")
        generate(self.mode, missing, self.msgid_base + self.lines, part)
        with self.path.open("ab") as out, part.open("rb") as extra:
            shutil.copyfileobj(extra, out)
        part.unlink()
        self.lines += missing
        log(f"  generated {missing} {self.mode} requests in {time.perf_counter() - started:.1f} s")

    def take(self, sent: int) -> tuple[int, int]:
        """Marks `sent` requests used; returns their MsgId range [first, end)."""
        first = self.msgid_base + self.used
        self.used += sent
        return first, first + sent


# Databases


@dataclass
class Database:
    name: str
    url: str
    cleanup: Any = None

    def count_inbound(self, app_id: str, first: int, end: int) -> dict[str, int]:
        """Rows of the inbound log whose MsgId is in [first, end), by status."""
        lo, hi = f"mp:{app_id}:m:{first}", f"mp:{app_id}:m:{end}"
        sql = (
            "SELECT status, count(*) FROM inbound_message WHERE dedupe_key >= {p} AND dedupe_key < {p2} GROUP BY status"
        )
        if self.name == "sqlite":
            path = urlsplit(self.url.replace("sqlite+aiosqlite:///", "file:///")).path
            with sqlite3.connect(path, timeout=30) as conn:
                rows = conn.execute(sql.format(p="?", p2="?"), (lo, hi)).fetchall()
        else:
            rows = asyncio.run(_pg_fetch(self.url, sql.format(p="$1", p2="$2"), lo, hi))
        return {str(status): int(n) for status, n in rows}

    def table_stats(self) -> dict[str, int]:
        """PostgreSQL's counters for inbound_message (scans, tuples), to see how the journal's statements
        are planned: sequential-scan tuples growing with the table mean a plan that scans it per batch."""
        if self.name != "postgres":
            return {}
        sql = (
            "SELECT seq_scan, seq_tup_read, idx_scan, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_live_tup, n_dead_tup,"
            " autovacuum_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'inbound_message'"
        )
        conn_rows = asyncio.run(_pg_fetch(self.url, sql))
        names = sql.split("SELECT ", 1)[1].split(" FROM", 1)[0].replace(" ", "").split(",")
        return {n: int(v or 0) for n, v in zip(names, conn_rows[0], strict=True)} if conn_rows else {}


async def _pg_fetch(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def _pg_admin(base: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def sqlite_database(tmp: Path) -> Database:
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp / 'bench.db'}")


def postgres_database(base: str) -> Database:
    name = f"grassroots_bench_{os.getpid()}"
    asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_pg_admin(base, f'CREATE DATABASE "{name}"'))
    return Database(
        "postgres",
        f"{base}/{name}",
        cleanup=lambda: asyncio.run(_pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')),
    )


# The service


def server_and_load_cpus(pin: bool = True) -> tuple[str | None, str | None]:
    """The CPU for the server and the one for what loads it (wrk, the emulator, the answering members):
    the first and the last this process may use; (None, None) when pinning is off or impossible."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or shutil.which("taskset") is None or len(cpus) < 2:
        return None, None
    return str(cpus[0]), str(cpus[-1])


def each_database(names: str, pg: str, prefix: str, bench: Callable[[Database, Path], dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """`bench` on each database named (comma-separated: sqlite, postgres), each created fresh in its own
    temporary folder and dropped afterwards; the folders are kept with BENCH_KEEP_TMP=1."""
    tmp_root = Path(tempfile.mkdtemp(prefix=f"grassroots-bench-{prefix}-"))
    summaries = []
    try:
        for name in (d.strip() for d in names.split(",") if d.strip()):
            tmp = tmp_root / name
            tmp.mkdir()
            db = sqlite_database(tmp) if name == "sqlite" else postgres_database(pg.rstrip("/"))
            try:
                summaries.append(bench(db, tmp))
            finally:
                if db.cleanup:
                    db.cleanup()
    finally:
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp_root, ignore_errors=True)
        else:
            log(f"logs kept in {tmp_root}")
    return summaries


def write_results(prefix: str, started: dt.datetime, meta: dict[str, Any], summaries: list[dict[str, Any]],
                  md: str) -> None:
    """results/<prefix>-<time>.json, results/<prefix>-latest.md, and the report on stdout."""
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{prefix}-{stamp}.json").write_text(
        json.dumps({"meta": meta, "summaries": summaries}, indent=2, ensure_ascii=False))
    (RESULTS / f"{prefix}-latest.md").write_text(md)
    print()
    print(md)


def grassroots_env(database_url: str, port: int, api_base: str, **extra: str) -> dict[str, str]:
    """The environment of a `grassroots serve` with the emulator's credentials: its WeChat APIs at
    `api_base` (+ /mp, /work), and `extra` settings (names without the GRASSROOTS_ prefix)."""
    c = EmulatorConfig()
    values = {
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MP_APPID": c.mp_appid,
        "MP_SECRET": c.mp_secret,
        "MP_TOKEN": c.mp_token,
        "MP_AES_KEY": c.mp_aes_key,
        "WORK_CORPID": c.work_corpid,
        "WORK_AGENTID": str(c.work_agentid),
        "WORK_SECRET": c.work_secret,
        "WORK_TOKEN": c.work_token,
        "WORK_AES_KEY": c.work_aes_key,
        "MP_API_BASE": f"{api_base}/mp",
        "WORK_API_BASE": f"{api_base}/work",
        **extra,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    env.update({f"GRASSROOTS_{k}": v for k, v in values.items()})
    # This checkout first, whatever the venv's install says: an editable install made while the packages
    # had no __init__.py maps them as namespace packages (then `handlers` imports without ROUTERS).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return env


def service_env(database_url: str, port: int, dead_port: int) -> dict[str, str]:
    # The hot path makes no outbound call: the APIs may point at a port nobody listens on.
    return grassroots_env(
        database_url,
        port,
        f"http://127.0.0.1:{dead_port}",
        CALLBACK_MAX_SKEW="0",  # the pre-generated timestamps stay valid
        SECRET_KEY="benchmark-secret-key",
    )


def grassroots(args: list[str], env: dict[str, str], cwd: Path) -> None:
    out = subprocess.run([str(VENV_BIN / "grassroots"), *args], env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"grassroots {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


def check_replies(base_url: str) -> dict[str, str]:
    """A few callbacks of each mode through the real service, their replies opened as WeChat would:
    the benchmark must measure replies, not errors answered with 200."""
    who = users()
    seen = {}
    for mode in ("plain", "safe"):
        folder = Path(tempfile.mkdtemp(prefix="grassroots-check-"))
        try:
            path = generate(mode, 12, MSGID_CHECK[mode], folder / "check.txt")
            codec = CallbackCodec.for_platform(EmulatorConfig(mp_safe_mode=(mode == "safe")), "mp")
            for line in path.read_text().splitlines():
                target, body = line.split("\t", 1)
                response = httpx.post(base_url + target, content=body.encode(), headers={"Content-Type": "text/xml"})
                if response.status_code != 200:
                    raise RuntimeError(f"{mode} check: HTTP {response.status_code}: {response.text[:200]}")
                reply = codec.open_reply(response.text)
                if not reply or reply.get("MsgType") != "text" or reply.get("ToUserName") not in who.all:
                    raise RuntimeError(f"{mode} check: unexpected reply {response.text[:300]!r}")
                if "系统繁忙" in reply.get("Content", "") or "稍后" in reply.get("Content", ""):
                    raise RuntimeError(f"{mode} check: the service answered an apology: {reply['Content']!r}")
                seen[mode] = reply["Content"]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return seen


def scrape_outcomes(base_url: str) -> dict[str, float]:
    text = httpx.get(base_url + "/metrics", timeout=10).text
    outcomes: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("grassroots_callbacks_total{"):
            labels, value = line.rsplit(" ", 1)
            outcome = labels.split('outcome="', 1)[1].split('"', 1)[0]
            outcomes[outcome] = outcomes.get(outcome, 0) + float(value)
    return outcomes


# One database


@dataclass
class Run:
    database: str
    round: int
    mode: str
    wrk: WrkResult
    rss_peak_mb: float
    server_cpu: float  # share of one core over the sampling window (which includes wrk's start-up)
    cpu_seconds: float = 0.0  # the server's CPU time during the run
    inbound: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, float] = field(default_factory=dict)
    thread_cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds * 1e6 / max(self.wrk.requests, 1)

    def as_json(self) -> dict[str, Any]:
        w = self.wrk
        return {
            "database": self.database,
            "round": self.round,
            "mode": self.mode,
            "requests": w.requests,
            "seconds": round(w.seconds, 3),
            "rps": round(w.rps, 1),
            "latency_ms": {k: round(v, 3) for k, v in w.latency_ms.items()},
            "non2xx": w.non2xx,
            "socket_errors": w.socket_errors,
            "sent": w.sent,
            "reused": w.reused,
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "server_cpu": round(self.server_cpu, 3),
            "server_cpu_us_per_request": round(self.cpu_us_per_request, 1),
            "server_cpu_seconds_by_thread": self.thread_cpu_seconds,
            "inbound": self.inbound,
            "outcomes": self.outcomes,
        }


def bench_database(db: Database, args: argparse.Namespace, bare_url: str, bare_pid: int, tmp: Path) -> list[Run]:
    runs: list[Run] = []
    port, dead_port = free_port(), free_port()
    env = service_env(db.url, port, dead_port)
    base_url = f"http://127.0.0.1:{port}"
    app_id = EmulatorConfig().mp_appid
    log(f"{db.name}: migrate and seed")
    grassroots(["migrate"], env, tmp)
    asyncio.run(seed(db.url, app_id))
    server_log = (tmp / f"serve-{db.name}.log").open("wb")
    command = [sys.executable, str(HERE / "probe_server.py")] if args.probe else [str(VENV_BIN / "grassroots"), "serve"]
    server = subprocess.Popen(
        pinned(command, args.server_cpu),
        env=env,
        cwd=tmp,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(base_url + "/healthz", server)
        log(f"{db.name}: grassroots serve pid {server.pid} on {base_url}")
        replies = check_replies(base_url)
        log(f"{db.name}: replies check out ({', '.join(f'{m}: {t[:12]!r}…' for m, t in replies.items())})")
        files = {m: RequestFile(m, tmp, MSGID_RUN[m]) for m in ("plain", "safe")}
        warm = {m: RequestFile(m, tmp, MSGID_WARMUP[m]) for m in ("plain", "safe")}
        for m, f in warm.items():
            f.ensure(args.warmup * 20_000)
            w = run_wrk(base_url, f.path, skip=0, duration=args.warmup, connections=args.connections, cpu=args.wrk_cpu)
            f.take(w.sent)
            log(f"{db.name}: warm-up {m}: {w.rps:,.0f} req/s")
        bare_file = files["plain"]  # the bare server gets the same callbacks (it keeps nothing)
        bare_file.ensure(args.duration * 20_000)
        for rnd in range(1, args.rounds + 1):
            with ProcSampler(bare_pid) as sampler:
                w = run_wrk(
                    bare_url,
                    bare_file.path,
                    skip=bare_file.used,
                    duration=args.duration,
                    connections=args.connections,
                    cpu=args.wrk_cpu,
                )
            bare = Run(
                db.name,
                rnd,
                "bare",
                w,
                sampler.peak_kb / 1024,
                sampler.cpu_seconds / sampler.wall_seconds,
                sampler.cpu_seconds,
            )
            runs.append(bare)
            log(f"{db.name} round {rnd}: bare   {w.rps:9,.0f} req/s  p99 {w.latency_ms['p99']:6.1f} ms")
            for mode in ("plain", "safe"):
                f = files[mode]
                # The service cannot beat the bare server: its rate this round bounds what a run may use.
                f.ensure(int(bare.wrk.rps * args.duration * 1.5) + 1000)
                before = scrape_outcomes(base_url)
                table_before = db.table_stats()
                if args.profile and rnd == 1:
                    profiler = start_profiler(server.pid, RESULTS / f"profile-{db.name}-{mode}", args.duration)
                with ProcSampler(server.pid) as sampler:
                    w = run_wrk(
                        base_url,
                        f.path,
                        skip=f.used,
                        duration=args.duration,
                        connections=args.connections,
                        cpu=args.wrk_cpu,
                    )
                if args.profile and rnd == 1:
                    finish_profiler(profiler)
                first, end = f.take(w.sent)
                time.sleep(1.2)  # the answers to wrk's last in-flight requests settle; PostgreSQL flushes stats
                table_after = db.table_stats()
                after = scrape_outcomes(base_url)
                outcomes = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
                rows = db.count_inbound(app_id, first, end)
                answered = int(
                    sum(v for k, v in outcomes.items() if k != "journal_error" and not k.startswith("rejected"))
                )
                total = sum(rows.values())
                inbound = {
                    "msgid_range": [first, end],
                    "sent": w.sent,
                    "answered_2xx": w.ok2xx,
                    "rows": total,
                    "by_status": rows,
                    "table_stats_delta": {k: v - table_before.get(k, 0) for k, v in table_after.items()},
                    # What the service answered by its own count (/metrics), bar refusals and apologies.
                    "answered_by_service": answered,
                    # Every answered request is logged (rows >= 2xx answers, rows == the service's own
                    # count), nothing outside what was sent is (the query counts only this run's
                    # MsgIds), and none was answered with the journal's apology.
                    "ok": w.reused == 0
                    and w.ok2xx <= total <= w.sent
                    and total == answered
                    and outcomes.get("journal_error", 0) == 0,
                }
                run = Run(
                    db.name,
                    rnd,
                    mode,
                    w,
                    sampler.peak_kb / 1024,
                    sampler.cpu_seconds / sampler.wall_seconds,
                    sampler.cpu_seconds,
                    inbound,
                    outcomes,
                    sampler.thread_cpu_seconds,
                )
                runs.append(run)
                scans = inbound["table_stats_delta"]
                scanned = (
                    f", PostgreSQL: {scans['seq_scan']} seq scans reading {scans['seq_tup_read']:,} rows, "
                    f"{scans['idx_scan']} index scans"
                    if scans
                    else ""
                )
                busiest = ", ".join(f"{k} {v / w.seconds:.0%}" for k, v in list(run.thread_cpu_seconds.items())[:3])
                log(
                    f"{db.name} round {rnd}: {mode:6} {w.rps:9,.0f} req/s  p99 {w.latency_ms['p99']:6.1f} ms  "
                    f"ratio {w.rps / bare.wrk.rps:.3f}  non-2xx {w.non2xx}  RSS {run.rss_peak_mb:.0f} MB  "
                    f"CPU {run.cpu_us_per_request:.0f} µs/req  rows {total}/{w.sent} sent, {w.ok2xx} 2xx"
                    + ("" if inbound["ok"] else "  ** DURABILITY CHECK FAILED **")
                    + (f"  ** {w.reused} requests reused **" if w.reused else "")
                    + f"\n           threads (CPU share of the run): {busiest}{scanned}"
                )
        log(f"{db.name}: server VmHWM {vm_hwm_kb(server.pid) / 1024:.0f} MB")
    finally:
        stop(server)
        server_log.close()
        if args.probe:
            RESULTS.mkdir(exist_ok=True)
            shutil.copy(server_log.name, RESULTS / f"probe-{db.name}.log")
    if server.returncode not in (0, -signal.SIGTERM):
        log(f"{db.name}: grassroots serve exited with {server.returncode}; see {server_log.name}")
    return runs


# Optional profiling (py-spy, if installed in the venv: it is not a project dependency)


def start_profiler(pid: int, stem: Path, duration: int) -> subprocess.Popen[bytes] | None:
    pyspy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if pyspy is None:
        log("  --profile: py-spy not found (pip install py-spy into the venv); not profiling")
        return None
    stem.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(duration),
        "--rate",
        "500",
        "--nonblocking",
        "--threads",
        "--format",
        "raw",
        "--output",
        str(stem.with_suffix(".folded")),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        proc.wait(60)


# Report


def summarise(runs: list[Run]) -> list[dict[str, Any]]:
    rows = []
    for db in dict.fromkeys(r.database for r in runs):
        bare_by_round = {r.round: r for r in runs if r.database == db and r.mode == "bare"}
        for mode in MODES:
            mine = [r for r in runs if r.database == db and r.mode == mode]
            ratios = [r.wrk.rps / bare_by_round[r.round].wrk.rps for r in mine]
            row = {
                "database": db,
                "mode": mode,
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
                "rss_peak_mb": max(r.rss_peak_mb for r in mine),
                "cpu_us_per_request_median": statistics.median(r.cpu_us_per_request for r in mine),
                "durable": all(r.inbound.get("ok", True) for r in mine),
                "rows": sum(r.inbound.get("rows", 0) for r in mine),
                "answered_2xx": sum(r.wrk.ok2xx for r in mine),
                "sent": sum(r.wrk.sent for r in mine),
            }
            if mode != "bare":
                target = TARGETS[f"{mode}_ratio"]
                row["pass"] = {
                    f"ratio>={target}": row["ratio_median"] >= target,
                    f"p99<{TARGETS['p99_ms']:.0f}ms": row["p99_ms_median"] < TARGETS["p99_ms"],
                    "zero non-2xx": row["non2xx"] == 0 and row["socket_errors"] == 0,
                    f"RSS<{TARGETS['rss_mb']:.0f}MB": row["rss_peak_mb"] < TARGETS["rss_mb"],
                    "durable": row["durable"],
                }
            rows.append(row)
    return rows


def markdown(summary: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    server = "" if meta["server"] == "grassroots serve" else f" **Server: {meta['server']} — not comparable.**"
    out = [
        f"Run {meta['started']} (git {meta['git']}) on {meta['machine']}, "
        f"wrk -t1 -c{meta['connections']} -d{meta['duration']}s, "
        f"{meta['rounds']} round(s) per database (medians shown; ratio = req/s ÷ bare req/s of the same round); "
        f"server pinned to CPU {meta['server_cpu'] or '-'}, wrk to CPU {meta['wrk_cpu'] or '-'}.{server}",
        "",
        "| database | path | req/s | × bare | target | p50 ms | p99 ms (max) | non-2xx | peak RSS MB "
        "| server CPU µs/req | logged / 2xx / sent | pass |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in summary:
        mode = row["mode"]
        target = f"≥ {TARGETS[mode + '_ratio']:.2f}" if mode != "bare" else ""
        logged = f"{row['rows']} / {row['answered_2xx']} / {row['sent']}" if mode != "bare" else ""
        if mode == "bare":
            verdict = ""
        else:
            failed = [k for k, ok in row["pass"].items() if not ok]
            verdict = "PASS" if not failed else "FAIL: " + ", ".join(failed)
        out.append(
            f"| {row['database']} | {MODES[mode]} | {row['rps_median']:,.0f} | {row['ratio_median']:.3f} | {target} "
            f"| {row['p50_ms_median']:.1f} | {row['p99_ms_median']:.1f} ({row['p99_ms_max']:.1f}) "
            f"| {row['non2xx'] + row['socket_errors']} | {row['rss_peak_mb']:.0f} "
            f"| {row['cpu_us_per_request_median']:.0f} "
            f"| {logged} | {verdict} |"
        )
    return "\n".join(out) + "\n"


def machine_notes() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{os.cpu_count()} × {model}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Callback hot-path benchmark (see benchmarks/README.md)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per mode (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="bare/plaintext/safe rounds per database (default 3)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG", PG_DEFAULT),
        help=f"PostgreSQL server URL without database (default {PG_DEFAULT})",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and wrk to separate CPUs")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record the server during round 1 (needs py-spy in the venv)"
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="serve with benchmarks/probe_server.py (journal and loop-lag figures each second, "
        "copied to results/probe-<database>.log); its figures are not comparable",
    )
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    args.server_cpu, args.wrk_cpu = server_and_load_cpus(not args.no_pin)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]

    started = dt.datetime.now()
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_notes(),
        "duration": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "server_cpu": args.server_cpu,
        "wrk_cpu": args.wrk_cpu,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "git_uncommitted": [
            line[3:]
            for line in subprocess.run(
                ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
            ).stdout.splitlines()
            if not line[3:].startswith("benchmarks/")
        ],
        "loadavg_before": os.getloadavg(),
        "targets": TARGETS,
        "server": "benchmarks/probe_server.py" if args.probe else "grassroots serve",
    }
    log(f"machine: {meta['machine']}; server CPU {args.server_cpu}, wrk CPU {args.wrk_cpu}")
    runs: list[Run] = []
    tmp_root = Path(tempfile.mkdtemp(prefix="grassroots-bench-"))
    bare_port = free_port()
    bare = subprocess.Popen(
        pinned([sys.executable, str(HERE / "bare_server.py"), "--port", str(bare_port)], args.server_cpu),
        stdout=subprocess.DEVNULL,
    )
    try:
        bare_url = f"http://127.0.0.1:{bare_port}"
        wait_http(bare_url + "/", bare)
        for name in databases:
            tmp = tmp_root / name
            tmp.mkdir()
            if name == "sqlite":
                db = sqlite_database(tmp)
            elif name == "postgres":
                try:
                    db = postgres_database(args.pg.rstrip("/"))
                except Exception as exc:  # OSError, or asyncpg's own errors for a refused login
                    print(
                        f"PostgreSQL at {args.pg} is not usable ({type(exc).__name__}: {exc}); "
                        "start it, pass --pg URL, or leave it out with --databases sqlite",
                        file=sys.stderr,
                    )
                    return 2
            else:
                raise SystemExit(f"unknown database {name!r} (sqlite, postgres)")
            try:
                runs += bench_database(db, args, bare_url, bare.pid, tmp)
            finally:
                if db.cleanup:
                    db.cleanup()
    finally:
        stop(bare)
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp_root, ignore_errors=True)

    meta["loadavg_after"] = os.getloadavg()
    summary = summarise(runs)
    md = markdown(summary, meta)
    RESULTS.mkdir(exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(
        json.dumps(
            {"meta": meta, "summary": summary, "runs": [r.as_json() for r in runs]}, indent=2, ensure_ascii=False
        )
    )
    (RESULTS / f"{stamp}.md").write_text(md)
    (RESULTS / "latest.md").write_text(md)
    print()
    print(md)
    print(f"results: {RESULTS / (stamp + '.json')}, {RESULTS / (stamp + '.md')}")
    failed = [r for r in summary if r["mode"] != "bare" and not all(r["pass"].values())]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
