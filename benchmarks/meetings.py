"""The meetings benchmarks: the 三会一课 compliance roll-up of a city of 5,000 branches with 24 months of
held meetings, and the reminder tick with 100,000 scheduled reminders and nothing due. In-process (no
HTTP), each figure against a trivial query timed in the same round. See benchmarks/README.md ("The
meetings benchmarks").

    .venv/bin/python benchmarks/meetings.py [--databases sqlite,postgres] [--rounds 3] [--ticks 100]
        [--branches 5000] [--far 5000] [--near 1000] [--profile]

For each database: create it fresh (an SQLite file in a temp dir; a scratch PostgreSQL database
`grassroots_bench_<pid>`, dropped afterwards), `grassroots migrate`, seed the city with bulk inserts
(meetings_seed.py: ≈ 17,500 organisations, 100,000 members, ≈ 595,000 held meetings and their records,
then the scheduled meetings and ≈ 135,000 reminder rows), then each round:

  a. roll-ups: `compliance(root=…, period=…, obligations=DEFAULT_OBLIGATIONS, today=…)` for the whole
     city over the last full year, quarter and month and over the current month (the API's default
     period), and for one street over the last full year — each timed end to end in a fresh session
     (`--rollup-repeat` times, interleaved with its baselines): `SELECT count(*) FROM meeting_record`, and
     the SQL the roll-up needs at the least — the period's records counted by (organisation, kind), the
     rows fetched, no Python work on them; also the roll-up's own read of the records
     (`models.obligations._held`: its query and the parsing of its rows), to split the time;
  b. the tick, `--ticks` times, interleaved, each in a fresh session with its commit: `SELECT 1` (the
     baseline), `any_due` (what an idle dispatcher runs), `claim_due(limit=200, lease=60 s)` (must claim
     nothing) and `queue_due_reminders(now=…, quiet=None)` (must write nothing: every meeting inside the
     horizon has its rounds queued). Median and p95, and the garbage collector's time inside them.

Also, once per database: the time of each SQL statement the roll-up and the tick run (from the
engine's cursor events) and the plans of the tick's statements (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE);
`--profile` adds a cProfile of one city-year roll-up and of the tick (results/meetings-<db>-*.prof, the
top functions in the JSON).
"""

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks_path import REPO, ensure_repo_on_path

ensure_repo_on_path()

from meetings_seed import TZ, City, seed  # noqa: E402
from run import (  # noqa: E402
    PG_DEFAULT,
    RESULTS,
    VENV_BIN,
    Database,
    each_database,
    grassroots_env,
    log,
    machine_notes,
    write_results,
)
from sqlalchemy import event, func, text  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bot.db import create_engine, create_session_factory  # noqa: E402
from models import obligations as obligations_module  # noqa: E402
from models.delivery import any_due  # noqa: E402
from models.meeting_record import MeetingRecord  # noqa: E402
from models.meeting_reminders import queue_due_reminders  # noqa: E402
from models.obligations import (  # noqa: E402
    DEFAULT_OBLIGATIONS,
    Period,
    compliance,
    parse_obligations,
    parse_period,
    sub_periods,
)
from models.organisation import Organisation  # noqa: E402
from models.outbox import claim_due  # noqa: E402

TARGETS = {"rollup_s": {"postgres": 1.0, "sqlite": 3.0}, "tick_ms": 50.0}
CLAIM_LIMIT = 200  # the dispatcher's defaults
CLAIM_LEASE = timedelta(seconds=60)
TICK_OPS = ("select_1", "any_due", "claim_due", "queue_due_reminders")
TICK_NAMES = {
    "select_1": "SELECT 1 (baseline)",
    "any_due": "any_due (idle dispatcher's look)",
    "claim_due": "claim_due (limit 200)",
    "queue_due_reminders": "queue_due_reminders (60 h horizon)",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def periods(today: date) -> dict[str, Period]:
    """The last full year, quarter and month before `today`, and `today`'s month."""
    month_start = today.replace(day=1)
    last_month = month_start - timedelta(days=1)
    quarter_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_quarter = quarter_start - timedelta(days=1)
    found = {
        "year": parse_period(f"{today.year - 1}"),
        "quarter": parse_period(f"{last_quarter.year}-Q{(last_quarter.month - 1) // 3 + 1}"),
        "month": parse_period(f"{last_month.year}-{last_month.month:02d}"),
        "current month": parse_period(f"{today.year}-{today.month:02d}"),
    }
    return {k: v for k, v in found.items() if v is not None}


class SqlTimer:
    """Each statement the engine runs while active: its text (cut), count and seconds in the cursor."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine.sync_engine
        self.active = False
        self.stats: dict[str, list[float]] = {}
        self.examples: dict[str, Any] = {}
        self._started: list[float] = []
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.active:
            self._started.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.active and self._started:
            key = " ".join(statement.split())
            self.stats.setdefault(key, []).append(time.perf_counter() - self._started.pop())
            self.examples.setdefault(key, parameters)

    def summary(self, label: str) -> list[dict[str, Any]]:
        rows = [{"where": label, "sql": sql[:300], "count": len(t), "total_ms": round(sum(t) * 1000, 2),
                 "median_ms": round(statistics.median(t) * 1000, 3)} for sql, t in self.stats.items()]
        return sorted(rows, key=lambda r: -r["total_ms"])

    def reset(self) -> None:
        self.stats.clear()
        self.examples.clear()


class GcClock:
    """Time the garbage collector runs (gc.callbacks), to tell its pauses from the operations' own time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0  # collections of the oldest generation
        self._started: float | None = None
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.full += info.get("generation") == 2
            self._started = None

    def close(self) -> None:
        gc.callbacks.remove(self)


# The measured operations


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


def query_span(period: Period, obligations: list[Any]) -> tuple[date, date]:
    """[since, until) of the records the roll-up reads, as it computes it."""
    spans = {o.every: sub_periods(period, o.every) for o in obligations}
    return min(s[0].start for s in spans.values()), max(s[-1].end for s in spans.values())


class Ops:
    def __init__(self, engine: Any, city: City, today: date, now: datetime) -> None:
        self.sessions = create_session_factory(engine)
        self.city = city
        self.today = today
        self.now = now
        self.obligations = parse_obligations(DEFAULT_OBLIGATIONS)

    async def count(self) -> int:
        async with self.sessions() as s:
            return int((await (await s.connection()).execute(text("SELECT count(*) FROM meeting_record"))).scalar_one())

    async def grouped(self, root_id: int, period: Period) -> int:
        """The least SQL a roll-up needs: the period's records under the root counted by (organisation,
        kind), the rows fetched, nothing else done with them."""
        async with self.sessions() as s:
            root = await s.get(Organisation, root_id)
            assert root is not None
            since, until = query_span(period, self.obligations)
            query = (select(MeetingRecord.owner_org_id, MeetingRecord.kind, func.count())
                     .where(col(MeetingRecord.held_month) >= since.year * 100 + since.month,
                            col(MeetingRecord.held_month) < until.year * 100 + until.month)
                     .group_by(col(MeetingRecord.owner_org_id), col(MeetingRecord.kind)))
            if root.parent_id is not None:
                query = query.join(Organisation, col(Organisation.id) == MeetingRecord.owner_org_id).where(
                    col(Organisation.path).startswith(root.path))
            return len((await s.exec(query)).all())

    async def held(self, root_id: int, period: Period) -> int:
        """The roll-up's own read of the records (models.obligations._held: its query and parsing)."""
        read = getattr(obligations_module, "_held", None)
        if read is None:  # the product no longer has it: nothing to split
            return -1
        async with self.sessions() as s:
            root = await s.get(Organisation, root_id)
            assert root is not None
            since, until = query_span(period, self.obligations)
            return len(await read(s, root, since, until))

    async def rollup(self, root_id: int, period: Period) -> tuple[int, int]:
        """(organisations, behind) of the roll-up, in a fresh session, the root read in it."""
        async with self.sessions() as s:
            root = await s.get(Organisation, root_id)
            assert root is not None
            result = await compliance(session=s, root=root, period=period, obligations=self.obligations,
                                      today=self.today)
            return len(result.organisations), len(result.behind)

    async def select_1(self) -> None:
        async with self.sessions() as s:
            (await (await s.connection()).execute(text("SELECT 1"))).scalar_one()
            await s.commit()

    async def any_due(self) -> None:
        async with self.sessions() as s:
            if await any_due(session=s):
                raise RuntimeError("any_due found a row due: the seed must leave nothing due")
            await s.commit()

    async def claim_due(self) -> None:
        async with self.sessions() as s:
            rows = await claim_due(session=s, limit=CLAIM_LIMIT, lease=CLAIM_LEASE)
            await s.commit()
            if rows:
                raise RuntimeError(f"claim_due claimed {len(rows)} rows: the seed must leave nothing due")

    async def queue_due_reminders(self) -> None:
        async with self.sessions() as s:
            written = await queue_due_reminders(session=s, now=datetime.now(TZ), quiet=None)
            await s.commit()
            if written:
                raise RuntimeError(f"queue_due_reminders wrote {written} rows: every round should be queued")


def rollup_cases(city: City, today: date) -> list[tuple[str, int, Period]]:
    ps = periods(today)
    cases = [(f"city, {name} {p.label}", city.city_id, p) for name, p in ps.items()]
    street = city.street_of[city.branch_ids[len(city.branch_ids) // 2]]
    cases.append((f"one street, year {ps['year'].label}", street, ps["year"]))
    return cases


async def rollup_round(ops: Ops, cases: list[tuple[str, int, Period]], repeat: int) -> list[dict[str, Any]]:
    out = []
    for label, root_id, period in cases:
        times: dict[str, list[float]] = {"count": [], "grouped": [], "held": [], "rollup": []}
        orgs = behind = groups = 0
        for _ in range(repeat):
            t, _n = await timed(ops.count)
            times["count"].append(t)
            t, groups = await timed(lambda r=root_id, p=period: ops.grouped(r, p))
            times["grouped"].append(t)
            t, _n = await timed(lambda r=root_id, p=period: ops.held(r, p))
            times["held"].append(t)
            t, (orgs, behind) = await timed(lambda r=root_id, p=period: ops.rollup(r, p))
            times["rollup"].append(t)
        row = {"case": label, "root_id": root_id, "period": period.label, "organisations": orgs, "behind": behind,
               "groups": groups, **{f"{k}_s": round(statistics.median(v), 4) for k, v in times.items()},
               "rollup_all_s": [round(t, 4) for t in times["rollup"]]}
        row["x_count"] = round(row["rollup_s"] / row["count_s"], 1)
        row["x_grouped"] = round(row["rollup_s"] / row["grouped_s"], 2)
        out.append(row)
        log(f"    {label}: roll-up {row['rollup_s']:.3f} s ({orgs} organisations, {behind} behind), "
            f"its read of the records {row['held_s']:.3f} s, grouped query {row['grouped_s']:.3f} s ({groups} groups), "
            f"count(*) {row['count_s']:.3f} s")
    return out


async def tick_round(ops: Ops, ticks: int, clock: GcClock) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each op's times (ms), and the garbage collector's time inside each (ms)."""
    samples: dict[str, list[float]] = {op: [] for op in TICK_OPS}
    in_gc: dict[str, list[float]] = {op: [] for op in TICK_OPS}
    for i in range(ticks):
        order = TICK_OPS[i % len(TICK_OPS):] + TICK_OPS[: i % len(TICK_OPS)]  # rotate: no op always first
        for op in order:
            before = clock.seconds
            t, _ = await timed(getattr(ops, op))
            samples[op].append(t * 1000)
            in_gc[op].append((clock.seconds - before) * 1000)
    return samples, in_gc


async def explain(engine: Any, timer: SqlTimer, label: str) -> list[dict[str, Any]]:
    """The plans of the statements `timer` saw (the tick's reads), as the database chose them."""
    plans = []
    postgres = engine.dialect.name == "postgresql"
    for sql, params in list(timer.examples.items()):
        if not sql.upper().startswith(("SELECT", "UPDATE")) or sql.upper().startswith("SELECT 1"):
            continue
        prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
        async with engine.connect() as conn:
            trans = await conn.begin()
            try:
                rows = (await conn.exec_driver_sql(prefix + sql, params)).all()
            except Exception as exc:  # a plan is a diagnostic: never fail the run for it
                rows = [(f"(no plan: {type(exc).__name__}: {str(exc)[:200]})",)]
            finally:
                await trans.rollback()  # EXPLAIN ANALYZE of an UPDATE runs it
        lines = [(str(r[-1]) if not postgres else str(r[0]))[:240] for r in rows]
        plans.append({"where": label, "sql": sql[:300], "plan": lines})
    return plans


def top_functions(profile: cProfile.Profile, n: int = 15) -> dict[str, list[str]]:
    out = {}
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(profile, stream=buf).sort_stats(key).print_stats(n)
        lines = [line.rstrip() for line in buf.getvalue().splitlines()]
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        out[key] = [line for line in lines[start : start + n + 1] if line.strip()]
    return out


async def measure(db: Database, args: argparse.Namespace, city: City, tmp: Path) -> dict[str, Any]:
    engine = create_engine(db.url)
    timer = SqlTimer(engine)
    now = datetime.now(TZ)
    ops = Ops(engine, city, now.date(), now)
    cases = rollup_cases(city, now.date())
    result: dict[str, Any] = {"rollup_rounds": [], "tick_rounds": [], "tick_gc": [], "sql": [], "plans": [],
                              "profile": {}}
    clock = GcClock()
    try:
        # Once: the first (cold-cache) roll-up and tick, then where their time goes, statement by statement.
        log(f"{db.name}: first runs (cold caches)")
        t, _ = await timed(lambda: ops.rollup(cases[0][1], cases[0][2]))
        result["cold_rollup_s"] = round(t, 3)
        t, _ = await timed(ops.queue_due_reminders)
        result["cold_tick_ms"] = round(t * 1000, 2)
        log(f"  cold: city-year roll-up {result['cold_rollup_s']:.3f} s; queue_due_reminders {t * 1000:.1f} ms")
        for label, call in (("roll-up, city year", lambda: ops.rollup(cases[0][1], cases[0][2])),
                            ("roll-up, one street", lambda: ops.rollup(cases[-1][1], cases[-1][2])),
                            ("any_due", ops.any_due), ("claim_due", ops.claim_due),
                            ("queue_due_reminders", ops.queue_due_reminders)):
            timer.reset()
            timer.active = True
            wall, _ = await timed(call)
            timer.active = False
            statements = timer.summary(label)
            sql_ms = sum(s["total_ms"] for s in statements)
            result["sql"].append({"where": label, "wall_ms": round(wall * 1000, 2), "sql_ms": round(sql_ms, 2),
                                  "statements": statements})
            if label in ("any_due", "claim_due", "queue_due_reminders", "roll-up, one street"):
                result["plans"] += await explain(engine, timer, label)
        for n in range(1, args.rounds + 1):
            log(f"{db.name} round {n}: roll-ups")
            result["rollup_rounds"].append(await rollup_round(ops, cases, args.rollup_repeat))
            log(f"{db.name} round {n}: {args.ticks} ticks")
            samples, in_gc = await tick_round(ops, args.ticks, clock)
            result["tick_rounds"].append(samples)
            result["tick_gc"].append(in_gc)
            log("    " + ", ".join(f"{op} {statistics.median(v):.2f} ms (p95 {pct(v, 0.95):.2f})"
                                   for op, v in samples.items()))
        if args.profile:
            for label, call, times in (("rollup", lambda: ops.rollup(cases[0][1], cases[0][2]), 1),
                                       ("tick", ops.queue_due_reminders, 20)):
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(times):
                    await call()
                profile.disable()
                path = RESULTS / f"meetings-{db.name}-{label}.prof"
                RESULTS.mkdir(exist_ok=True)
                profile.dump_stats(str(path))
                result["profile"][label] = {"file": str(path.relative_to(REPO)), **top_functions(profile)}
                log(f"  profile of {label}: {path}")
    finally:
        clock.close()
        await engine.dispose()
    return result


def summarise(db: Database, city: City, seed_s: float, measured: dict[str, Any]) -> dict[str, Any]:
    rollups = []
    for i in range(len(measured["rollup_rounds"][0])):
        per_round = [r[i] for r in measured["rollup_rounds"]]
        row = per_round[0]
        all_times = [t for r in per_round for t in r["rollup_all_s"]]
        s = {
            "case": row["case"], "organisations": row["organisations"], "behind": row["behind"],
            "groups": row["groups"],
            "rollup_s": statistics.median(r["rollup_s"] for r in per_round),
            "rollup_max_s": max(all_times),
            "count_s": statistics.median(r["count_s"] for r in per_round),
            "grouped_s": statistics.median(r["grouped_s"] for r in per_round),
            "held_s": statistics.median(r["held_s"] for r in per_round),
            "x_count": statistics.median(r["x_count"] for r in per_round),
            "x_grouped": statistics.median(r["x_grouped"] for r in per_round),
            "per_round_s": [r["rollup_s"] for r in per_round],
        }
        whole_tree = row["case"].startswith("city")
        s["target_s"] = TARGETS["rollup_s"][db.name] if whole_tree else None
        s["met"] = None if s["target_s"] is None else s["rollup_s"] < s["target_s"]
        rollups.append(s)
    ticks = []
    pooled = {op: [t for r in measured["tick_rounds"] for t in r[op]] for op in TICK_OPS}
    pooled_gc = {op: [t for r in measured["tick_gc"] for t in r[op]] for op in TICK_OPS}
    base = statistics.median(pooled["select_1"])
    for op in TICK_OPS:
        values = pooled[op]
        median = statistics.median(values)
        row = {"op": op, "samples": len(values), "median_ms": round(median, 3), "p95_ms": round(pct(values, 0.95), 3),
               "max_ms": round(max(values), 3),
               "per_round_median_ms": [round(statistics.median(r[op]), 3) for r in measured["tick_rounds"]],
               "ratio": round(median / base, 1),
               # The collector's share: its time inside the op, over all samples and over the slowest 5 %.
               "gc_ms_total": round(sum(pooled_gc[op]), 1),
               "gc_ms_in_slowest_5pct": round(sum(g for t, g in zip(values, pooled_gc[op], strict=True)
                                                  if t >= pct(values, 0.95)), 1)}
        row["target_ms"] = None if op == "select_1" else TARGETS["tick_ms"]
        row["met"] = None if op == "select_1" else median < TARGETS["tick_ms"]
        ticks.append(row)
    return {
        "database": db.name,
        "seed": {"seconds": round(seed_s, 1), "organisations": city.organisations, "branches": len(city.branch_ids),
                 "groups": sum(len(g) for g in city.groups_of.values()), "people": city.people,
                 "held_meetings": city.meetings, "records": city.records, "gaps": city.skipped,
                 "months": f"{city.first_month}–{city.last_month}", "reminders": city.reminders},
        "cold_rollup_s": measured["cold_rollup_s"],
        "cold_tick_ms": measured["cold_tick_ms"],
        "rollups": rollups,
        "ticks": ticks,
        "sql": measured["sql"],
        "plans": measured["plans"],
        "profile": measured["profile"],
        "raw": {"rollup_rounds": measured["rollup_rounds"], "tick_rounds_ms": measured["tick_rounds"],
                "tick_gc_ms": measured["tick_gc"]},
        "pass": {**{f"rollup {r['case']}": r["met"] for r in rollups if r["met"] is not None},
                 **{f"tick {t['op']}": t["met"] for t in ticks if t["met"] is not None}},
    }


def bench_database(db: Database, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env = grassroots_env(db.url, 9, "http://127.0.0.1:9")
    out = subprocess.run([str(VENV_BIN / "grassroots"), "migrate"], env=env, cwd=tmp, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"migrate failed: {out.stderr}")
    log(f"{db.name}: migrated; seeding the city")
    started = time.perf_counter()
    city = asyncio.run(seed(db.url, branches=args.branches, far=args.far, near=args.near, now=datetime.now(UTC),
                            log=log))
    seed_s = time.perf_counter() - started
    log(f"{db.name}: seeded in {seed_s:.0f} s: {city.organisations:,} organisations, {city.meetings:,} held meetings "
        f"({city.skipped:,} left out), reminders {city.reminders}")
    if db.name == "sqlite":
        size = sum(p.stat().st_size for p in tmp.glob("bench.db*"))
        log(f"  SQLite file {size / 2**20:.0f} MB")
    measured = asyncio.run(measure(db, args, city, tmp))
    return summarise(db, city, seed_s, measured)


def markdown(summaries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Meetings benchmarks {meta['started']}",
        "",
        f"{meta['machine']}; git {meta['git']}{' + uncommitted work' if meta['git_uncommitted'] else ''}; "
        f"{meta['rounds']} rounds, roll-ups {meta['rollup_repeat']}× a round, {meta['ticks']} ticks a round; "
        f"load average before {meta['loadavg_before'][0]:.2f}.",
        "",
        "## Compliance roll-up (medians of the rounds; a fresh session each)",
        "",
        "| database | roll-up | organisations (behind) | median s (max) | count(*) s | grouped query s "
        "| its read of the records s | × count(*) | × grouped query | target | met |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in summaries:
        for r in s["rollups"]:
            target = f"< {r['target_s']:.0f} s" if r["target_s"] else ""
            met = "" if r["met"] is None else ("yes" if r["met"] else "**NO**")
            lines.append(
                f"| {s['database']} | {r['case']} | {r['organisations']:,} ({r['behind']:,}) "
                f"| {r['rollup_s']:.3f} ({r['rollup_max_s']:.3f}) | {r['count_s']:.3f} | {r['grouped_s']:.3f} "
                f"| {r['held_s']:.3f} | {r['x_count']:.1f} | {r['x_grouped']:.2f} | {target} | {met} |")
    lines += [
        "",
        "## Reminder tick, nothing due (all samples of all rounds; a fresh session and a commit each)",
        "",
        "| database | operation | median ms | p95 ms | max ms | × SELECT 1 | GC ms (all / slowest 5 %) "
        "| target | met |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in summaries:
        for t in s["ticks"]:
            target = f"< {t['target_ms']:.0f} ms" if t["target_ms"] else ""
            met = "" if t["met"] is None else ("yes" if t["met"] else "**NO**")
            lines.append(f"| {s['database']} | {TICK_NAMES[t['op']]} | {t['median_ms']:.2f} | {t['p95_ms']:.2f} "
                         f"| {t['max_ms']:.2f} | {t['ratio']:.1f} "
                         f"| {t['gc_ms_total']:.0f} / {t['gc_ms_in_slowest_5pct']:.0f} | {target} | {met} |")
    lines += ["", "## Seeds and first runs", ""]
    for s in summaries:
        sd = s["seed"]
        lines.append(
            f"- {s['database']}: {sd['organisations']:,} organisations ({sd['branches']:,} branches, {sd['groups']:,} "
            f"groups), {sd['people']:,} members, {sd['held_meetings']:,} held meetings and records over "
            f"{sd['months']} ({sd['gaps']:,} left out), reminders {sd['reminders']}; seeded in {sd['seconds']:.0f} s. "
            f"First (cold) city-year roll-up {s['cold_rollup_s']:.3f} s, first tick {s['cold_tick_ms']:.1f} ms.")
        for r in s["rollups"]:
            lines.append(f"  - {r['case']}: per round {' / '.join(f'{x:.3f}' for x in r['per_round_s'])} s")
        for t in s["ticks"]:
            lines.append(f"  - {t['op']}: per-round medians {' / '.join(f'{x:.2f}' for x in t['per_round_median_ms'])}"
                         " ms")
    lines += ["", "## Where the time goes (one run each, SQL time from the cursor events)", ""]
    for s in summaries:
        for q in s["sql"]:
            top = q["statements"][0] if q["statements"] else None
            head = f"; slowest: {top['total_ms']:.1f} ms × {top['count']} `{top['sql'][:110]}`" if top else ""
            lines.append(f"- {s['database']} {q['where']}: {q['wall_ms']:.1f} ms wall, {q['sql_ms']:.1f} ms in "
                         f"{sum(x['count'] for x in q['statements'])} statements{head}")
    lines += ["", "## Plans of the tick's statements", ""]
    for s in summaries:
        for p in s["plans"]:
            lines.append(f"- {s['database']} {p['where']}: `{p['sql'][:120]}`")
            lines += [f"    - {line}" for line in p["plan"][:12]]
    for s in summaries:
        for label, prof in s["profile"].items():
            lines += ["", f"## cProfile: {s['database']} {label} ({prof['file']})", "", "```",
                      *prof["cumulative"][:14], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Meetings benchmarks (see benchmarks/README.md)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rollup-repeat", type=int, default=3, help="each roll-up (and its baselines) per round")
    parser.add_argument("--ticks", type=int, default=100, help="tick repetitions per round")
    parser.add_argument("--branches", type=int, default=5000)
    parser.add_argument("--far", type=int, default=5000, help="scheduled meetings in 3–30 days, rounds pending")
    parser.add_argument("--near", type=int, default=None,
                        help="scheduled meetings inside the tick's horizon (default: the city's meetings then)")
    parser.add_argument("--profile", action="store_true", help="cProfile one roll-up and 20 ticks (results/*.prof)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_notes(),
        "git": git.stdout.strip(),
        "git_uncommitted": [line[3:] for line in status.stdout.splitlines() if not line[3:].startswith("benchmarks/")],
        "rounds": args.rounds,
        "rollup_repeat": args.rollup_repeat,
        "ticks": args.ticks,
        "args": vars(args),
        "loadavg_before": os.getloadavg(),
        "targets": TARGETS,
    }
    summaries = each_database(args.databases, args.pg, "meetings", lambda db, tmp: bench_database(db, args, tmp))
    meta["loadavg_after"] = os.getloadavg()
    write_results("meetings", started, meta, summaries, markdown(summaries, meta))
    return 0 if all(all(s["pass"].values()) for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
