"""Delivery benchmark: a confirmed notice to 10,000 people, from 确认 to every outbox row settled, against
a bare httpx loop posting the same API calls to the same emulator in the same run. See
benchmarks/README.md ("The delivery benchmark").

    .venv/bin/python benchmarks/delivery.py [--rounds 3] [--databases postgres,sqlite] [--people 4000,3000,3000]

For each database: create it, migrate, seed the roster through the models, start the WeChat emulator
(`grassroots emulator`) and `grassroots serve` as separate processes, register every user with the
emulator, then for each round
  1. baseline: reset the emulator, post the same calls with a bare httpx loop (WeCom 1000 per call,
     one call per Official Account user, 16 at a time) and time it;
  2. measured: reset the emulator, resolve the recipients (`recipients_for`, timed), confirm the notice
     (`confirm_notice`: the outbox rows), commit, and time until the server's dispatcher has settled
     every row; check that each person received the notice exactly once;
and finally a round with 1% injected transient errors (errcode -1 and HTTP 500, half each): zero
duplicates, zero losses. The server's RSS is read from /proc before the first round and after the last.

`--subject meeting`: instead of a notice, each measured round creates a 主题党日 organised by the
district (`plan_meetings` + `create_meetings`: every member of the seed is invited) starting 50 minutes
ahead and queues its reminders as the meetings API does (`queue_due_reminders(now, quiet=None)`: a
meeting at such short notice gets one reminder, due now), then times until the server's dispatcher has
settled every meeting_reminder row of it. Same baseline, same checks.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks_path import REPO, ensure_repo_on_path

ensure_repo_on_path()

import httpx  # noqa: E402
from delivery_seed import Roster, seed  # noqa: E402
from run import (  # noqa: E402
    PG_DEFAULT,
    RESULTS,
    VENV_BIN,
    Database,
    ProcSampler,
    each_database,
    free_port,
    grassroots_env,
    log,
    machine_notes,
    stop,
    wait_http,
    write_results,
)
from sqlalchemy import text  # noqa: E402

from bot.db import create_engine, create_session_factory  # noqa: E402
from emulator import EmulatorConfig  # noqa: E402
from handlers.links import notice_url  # noqa: E402
from models.clock import utcnow  # noqa: E402
from models.meeting import MeetingKind, create_meetings, plan_meetings  # noqa: E402
from models.meeting_dates import HolidayPolicy  # noqa: E402
from models.meeting_reminders import queue_due_reminders  # noqa: E402
from models.notice import Notice, NoticeStatus, Who  # noqa: E402
from models.notice_queries import recipients_for  # noqa: E402
from models.organisation import Organisation  # noqa: E402
from models.outbox import queue_messages  # noqa: E402
from models.subject import Subject  # noqa: E402  # noqa: E402
from models.workdays import WorkCalendar  # noqa: E402

TARGETS = {"ratio": 2.0, "resolve_s": 1.0, "rss_growth_mb": 50.0}
CONCURRENCY = 16  # the dispatcher's default
WORK_PER_CALL = 1000  # WeCom's limit per message/send
TEMPLATE_ID = "TPL_NOTICE"
SECRET = "delivery-benchmark-secret"
TEXT = "关于开展主题党日活动的通知\n本周六上午九点在各支部活动室开展主题党日活动，请全体党员准时参加。"
OPEN = ("pending", "in_flight", "sending", "retry")
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
TZ = ZoneInfo("Asia/Shanghai")  # the service's default GRASSROOTS_TIMEZONE
MEETING_AHEAD = dt.timedelta(minutes=50)  # after both planned rounds: one reminder, due now


# Processes


def service_env(database_url: str, port: int, emulator: str, idle: float) -> dict[str, str]:
    return grassroots_env(database_url, port, emulator, QUIET_HOURS="", DISPATCH_IDLE=str(idle), SECRET_KEY=SECRET)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# The emulator, through its control API


async def register_users(client: httpx.AsyncClient, roster: Roster) -> None:
    users = [("work", u, False) for u in roster.work]
    users += [("mp", o, True) for o in roster.window] + [("mp", o, False) for o in roster.template]
    limit = asyncio.Semaphore(32)

    async def one(platform: str, user: str, interacted: bool) -> None:
        async with limit:
            r = await client.post("/emulator/users", json={"platform": platform, "id": user, "interacted": interacted})
            r.raise_for_status()

    await asyncio.gather(*(one(*u) for u in users))


async def reset(client: httpx.AsyncClient, faults: dict[str, Any] | None = None) -> None:
    (await client.post("/emulator/reset")).raise_for_status()
    if faults:
        (await client.post("/emulator/faults", json=faults)).raise_for_status()


async def delivered_counts(client: httpx.AsyncClient) -> tuple[Counter[tuple[str, str]], int]:
    """Messages delivered per (platform, user), and how many the emulator dropped as duplicates."""
    messages = (await client.get("/emulator/messages", timeout=60)).json()
    counts = Counter((m["platform"], m["recipient"]) for m in messages if m["delivered"])
    dropped = sum(1 for m in messages if not m["delivered"])
    return counts, dropped


# The baseline: the same calls, nothing else


async def bare_loop(emulator: str, roster: Roster, notice_id: int, public_url: str) -> tuple[float, float]:
    """Seconds to post every call, and the CPU seconds this process spent on it."""
    c = EmulatorConfig()
    async with httpx.AsyncClient(base_url=emulator, timeout=httpx.Timeout(10.0, connect=5.0)) as client:
        # The stable token leaves the server's cached ordinary token valid.
        mp = (
            await client.post(
                "/mp/cgi-bin/stable_token",
                json={"grant_type": "client_credential", "appid": c.mp_appid, "secret": c.mp_secret},
            )
        ).json()["access_token"]
        work = (
            await client.get("/work/cgi-bin/gettoken", params={"corpid": c.work_corpid, "corpsecret": c.work_secret})
        ).json()["access_token"]
        limit = asyncio.Semaphore(CONCURRENCY)
        local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
        title = TEXT.splitlines()[0][:20]

        async def post(path: str, token: str, payload: dict[str, Any]) -> None:
            async with limit:
                body = json.dumps(payload, ensure_ascii=False).encode()
                r = await client.post(path, params={"access_token": token}, content=body, headers=JSON_HEADERS)
                r.raise_for_status()
                if r.json().get("errcode"):
                    raise RuntimeError(f"baseline call {path} answered {r.text}")

        calls = [
            post(
                "/work/cgi-bin/message/send",
                work,
                {
                    "touser": "|".join(roster.work[i : i + WORK_PER_CALL]),
                    "msgtype": "text",
                    "agentid": c.work_agentid,
                    "text": {"content": TEXT},
                    "enable_duplicate_check": 1,
                    "duplicate_check_interval": 1800,
                },
            )
            for i in range(0, len(roster.work), WORK_PER_CALL)
        ]
        calls += [
            post("/mp/cgi-bin/message/custom/send", mp, {"touser": o, "msgtype": "text", "text": {"content": TEXT}})
            for o in roster.window
        ]
        calls += [
            post(
                "/mp/cgi-bin/message/template/send",
                mp,
                {
                    "touser": o,
                    "template_id": TEMPLATE_ID,
                    "url": notice_url(public_url, SECRET, notice_id, roster.person_of[o]),
                    "data": {"title": {"value": title}, "time": {"value": f"{local:%Y-%m-%d %H:%M}"}},
                },
            )
            for o in roster.template
        ]
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*calls)
        return time.perf_counter() - started, time.process_time() - cpu


# The measured path


async def confirm_and_wait(database_url: str, roster: Roster, within: float) -> dict[str, Any]:
    """确认 a notice to the whole district; time resolution, outbox and delivery until every row settled."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        started = time.perf_counter()
        async with sessions() as s:
            people = await recipients_for(session=s, org_ids=[roster.district_id], who=[Who.members])
            resolved = time.perf_counter()
            notice = Notice(org_id=roster.district_id, author_person_id=roster.author_id, text=TEXT,
                            status=NoticeStatus.confirmed, confirmed_at=utcnow())
            s.add(notice)
            await s.flush()
            queued = await queue_messages(session=s, subject=Subject.notice(notice.id), recipients=people,
                                          not_before=utcnow())
            written = queued.rows
            await s.commit()
            notice_id = notice.id
        confirmed = time.perf_counter()
        statuses, rows = await wait_settled(engine, "subject_kind = 'notice' AND subject_id = :n", notice_id,
                                            started + within)
        settled = time.perf_counter()
    finally:
        await engine.dispose()
    return {
        "notice_id": notice_id,
        "people": len(people),
        "rows_written": written,
        "resolve_s": resolved - started,
        "outbox_s": confirmed - resolved,
        "total_s": settled - started,
        "statuses": statuses,
        "rows": rows,
    }


async def wait_settled(engine: Any, where: str, subject_id: int, deadline: float
                       ) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Polls the subject's outbox rows every 20 ms until none is open (or the deadline passed); their
    counts by status, then (channel, recipient, status, reason) of each."""
    query = text(f"SELECT status, count(*) FROM delivery WHERE {where} GROUP BY status")
    while True:
        async with engine.connect() as conn:
            statuses = {str(k): int(v) for k, v in (await conn.execute(query, {"n": subject_id})).all()}
        if not any(statuses.get(k) for k in OPEN) or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.02)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(text(f"SELECT channel, recipient, status, reason FROM delivery WHERE {where}"),
                               {"n": subject_id})
        ).all()
    return statuses, [tuple(r) for r in rows]


async def meeting_and_wait(database_url: str, roster: Roster, within: float) -> dict[str, Any]:
    """A 主题党日 of the district starting MEETING_AHEAD from now, created and its reminders queued as the
    meetings API does (`plan_meetings`, `create_meetings`, `queue_due_reminders`, one commit); timed until
    every meeting_reminder row of it settled. "resolve" is the plan (who is invited), "outbox" the
    creation and the reminders' rows."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        started = time.perf_counter()
        async with sessions() as s:
            now = dt.datetime.now(TZ)
            district = await s.get(Organisation, roster.district_id)
            assert district is not None
            plan = await plan_meetings(
                session=s, kind=MeetingKind.party_day, org=district, title="主题党日",
                starts_at=(now + MEETING_AHEAD).replace(second=0, microsecond=0), minutes=90,
                place="党群服务中心", topic="学习贯彻全会精神", policy=HolidayPolicy.keep, work_calendar=WorkCalendar(),
            )
            resolved = time.perf_counter()
            not_invited = set(roster.person_of.values()) - set(plan.attendees)
            if not_invited:
                raise RuntimeError(f"{len(not_invited)} members of the roster are not invited to the meeting")
            meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.author_id))[0]
            written = await queue_due_reminders(session=s, now=now, quiet=None)
            await s.commit()
            meeting_id = meeting.id
        confirmed = time.perf_counter()
        assert meeting_id is not None
        statuses, rows = await wait_settled(
            engine, "subject_kind = 'meeting' AND subject_id = :n AND purpose = 'meeting_reminder'", meeting_id,
            started + within)
        settled = time.perf_counter()
    finally:
        await engine.dispose()
    return {
        "meeting_id": meeting_id,
        "people": len(plan.attendees),
        "rows_written": written,
        "resolve_s": resolved - started,
        "outbox_s": confirmed - resolved,
        "total_s": settled - started,
        "statuses": statuses,
        "rows": rows,
    }


async def measured_run(subject: str, database_url: str, roster: Roster, within: float) -> dict[str, Any]:
    if subject == "meeting":
        return await meeting_and_wait(database_url, roster, within)
    return await confirm_and_wait(database_url, roster, within)


def check(result: dict[str, Any], delivered: Counter[tuple[str, str]], roster: Roster) -> dict[str, int]:
    """Duplicates: anyone who received it twice. Losses: a person without a settled row that reached
    them, a row still open, or a failed row without a reason."""
    platform = {"work_app": "work", "mp_custom": "mp", "mp_template": "mp"}
    sent = {(platform[ch], who) for ch, who, status, _ in result["rows"] if status == "sent"}
    open_rows = sum(1 for *_, status, _ in result["rows"] if status in OPEN)
    failed_silent = sum(1 for *_, status, reason in result["rows"] if status == "failed" and not reason)
    unreached = sum(1 for key in sent if delivered[key] == 0)
    return {
        "duplicates": sum(1 for n in delivered.values() if n > 1),
        "sent_not_delivered": unreached,
        "open_rows": open_rows,
        "failed_without_reason": failed_silent,
        "people_not_reached": roster.total - len(sent),
        "delivered": sum(delivered.values()),
    }


# One database


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
        [str(VENV_BIN / "grassroots"), "emulator", "--port", str(emu_port),
         "--mp-callback", f"http://127.0.0.1:{port}/wechat/mp" if args.reports else "", "--work-callback", f"http://127.0.0.1:{port}/wechat/work"],
        env=env, cwd=tmp, stdout=(tmp / "emulator.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = None
    try:
        wait_http(emulator_url + "/emulator", emu)
        profile = ["-m", "cProfile", "-o", str(RESULTS / f"delivery-{db.name}.prof")] if args.profile else []
        server = subprocess.Popen(
            [sys.executable, *profile, "-m", "bot.cli", "serve"], env=env, cwd=tmp,
            stdout=(tmp / "server.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        rounds, faulty, rss_before, rss_after = asyncio.run(
            run_rounds(db, args, roster, emulator_url, port, server.pid)
        )
    finally:
        if server is not None:
            stop(server)
        stop(emu)
    return summarise(db, args.subject, roster, (work, window, template), rounds, faulty, rss_before, rss_after)


async def run_rounds(
    db: Database, args: argparse.Namespace, roster: Roster, emulator_url: str, port: int, server_pid: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, float, float]:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=30) as control:
        t = time.perf_counter()
        await register_users(control, roster)
        log(f"{db.name}: registered {roster.total} users with the emulator in {time.perf_counter() - t:.1f} s")
        rounds = []
        rss_before = rss_mb(server_pid)
        for n in range(1, args.rounds + 1):
            await reset(control)
            baseline, baseline_cpu = await bare_loop(emulator_url, roster, 10**6 + n, f"http://127.0.0.1:{port}")
            base_counts, _ = await delivered_counts(control)
            if sum(base_counts.values()) != roster.total:
                raise RuntimeError(f"baseline delivered {sum(base_counts.values())} of {roster.total}")
            await reset(control)
            with ProcSampler(server_pid) as sampler:
                result = await measured_run(args.subject, db.url, roster, args.timeout)
            counts, dropped = await delivered_counts(control)
            checks = check(result, counts, roster)
            row = {
                "round": n,
                "baseline_s": round(baseline, 3),
                "measured_s": round(result["total_s"], 3),
                "ratio": round(result["total_s"] / baseline, 2),
                "resolve_s": round(result["resolve_s"], 3),
                "outbox_s": round(result["outbox_s"], 3),
                "rows_written": result["rows_written"],
                "baseline_cpu_s": round(baseline_cpu, 2),
                "server_cpu_s": round(sampler.cpu_seconds, 2),
                "server_peak_rss_mb": round(sampler.peak_kb / 1024, 1),
                "statuses": result["statuses"],
                "dropped_by_emulator": dropped,
                **checks,
            }
            rounds.append(row)
            log(f"{db.name} round {n}: {json.dumps(row, ensure_ascii=False)}")
        faulty = None
        if args.error_rate > 0:
            half = args.error_rate / 2
            await reset(control, {"error_rate": half, "http_500_rate": half, "seed": 7})
            result = await measured_run(args.subject, db.url, roster, args.timeout)
            counts, dropped = await delivered_counts(control)
            calls = (await control.get("/emulator/calls", params={"endpoint": "/cgi-bin/message"})).json()
            faulty = {
                "error_rate": args.error_rate,
                "injected_faults": sum(1 for c in calls if c["fault"]),
                "measured_s": round(result["total_s"], 3),
                "statuses": result["statuses"],
                "dropped_by_emulator": dropped,
                **check(result, counts, roster),
            }
            log(f"{db.name} with {args.error_rate:.0%} errors: {json.dumps(faulty, ensure_ascii=False)}")
            await reset(control)
        rss_after = rss_mb(server_pid)
    return rounds, faulty, rss_before, rss_after


def summarise(
    db: Database,
    subject: str,
    roster: Roster,
    people: tuple[int, int, int],
    rounds: list[dict[str, Any]],
    faulty: dict[str, Any] | None,
    rss_before: float,
    rss_after: float,
) -> dict[str, Any]:
    work, window, template = people
    ratios = [r["ratio"] for r in rounds]
    summary = {
        "database": db.name,
        "subject": subject,
        "people": roster.total,
        "channels": {"work": work, "mp_window": window, "mp_template": template},
        "baseline_s": statistics.median(r["baseline_s"] for r in rounds),
        "measured_s": statistics.median(r["measured_s"] for r in rounds),
        "ratio": statistics.median(ratios),
        "resolve_s": statistics.median(r["resolve_s"] for r in rounds),
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
        "rss_growth_mb": round(rss_after - rss_before, 1),
        "duplicates": sum(r["duplicates"] for r in rounds) + (faulty["duplicates"] if faulty else 0),
        "losses": sum(r["open_rows"] + r["sent_not_delivered"] + r["people_not_reached"] for r in rounds)
        + (faulty["open_rows"] + faulty["sent_not_delivered"] + faulty["failed_without_reason"] if faulty else 0),
        "rounds": rounds,
        "faulty": faulty,
    }
    summary["pass"] = {
        "ratio": summary["ratio"] <= TARGETS["ratio"],
        "resolve": db.name != "postgres" or summary["resolve_s"] < TARGETS["resolve_s"],
        "rss": summary["rss_growth_mb"] < TARGETS["rss_growth_mb"],
        "no_duplicates": summary["duplicates"] == 0,
        "no_losses": summary["losses"] == 0,
    }
    return summary


def markdown(summaries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    meeting = meta["subject"] == "meeting"
    lines = [
        f"# Delivery benchmark{' (meeting reminders)' if meeting else ''} {meta['started']}",
        "",
        f"{meta['machine']}; git {meta['git']}; {meta['rounds']} rounds (medians); dispatcher idle {meta['idle']} s; "
        f"template delivery reports {'on' if meta['reports'] else 'off'}.",
        "",
        f"| database | people | bare loop s | {'meeting created' if meeting else '确认'} → settled s | ratio (≤ 2×) "
        "| resolve s (< 1 s on PG) | RSS growth MB (< 50) | duplicates | losses | pass |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        ok = "yes" if all(s["pass"].values()) else "NO: " + ", ".join(k for k, v in s["pass"].items() if not v)
        lines.append(
            f"| {s['database']} | {s['people']} | {s['baseline_s']:.2f} | {s['measured_s']:.2f} | {s['ratio']:.2f} "
            f"| {s['resolve_s']:.3f} | {s['rss_growth_mb']:+.1f} ({s['rss_before_mb']:.0f} → {s['rss_after_mb']:.0f}) "
            f"| {s['duplicates']} | {s['losses']} | {ok} |"
        )
    lines += ["", "Per round:", ""]
    for s in summaries:
        for r in s["rounds"]:
            lines.append(
                f"- {s['database']} round {r['round']}: bare {r['baseline_s']:.2f} s, measured {r['measured_s']:.2f} s "
                f"(resolve {r['resolve_s']:.3f} s, outbox {r['outbox_s']:.2f} s), ratio {r['ratio']:.2f}, "
                f"CPU: bare loop {r['baseline_cpu_s']:.1f} s, server {r['server_cpu_s']:.1f} s; "
                f"peak RSS {r['server_peak_rss_mb']:.0f} MB"
            )
        f = s["faulty"]
        if f:
            lines.append(
                f"- {s['database']} with {f['error_rate']:.0%} transient errors ({f['injected_faults']} injected): "
                f"{f['measured_s']:.2f} s, statuses {f['statuses']}, duplicates {f['duplicates']}, "
                f"open rows {f['open_rows']}, sent but not delivered {f['sent_not_delivered']}, "
                f"repeats dropped by WeCom's duplicate check {f['dropped_by_emulator']}"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Delivery benchmark (see benchmarks/README.md)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="postgres,sqlite", help="comma-separated: postgres, sqlite")
    parser.add_argument("--people", default="4000,3000,3000", help="WeCom, MP in the 48 h window, MP template")
    parser.add_argument("--error-rate", type=float, default=0.01, help="transient errors in the last round (0: none)")
    parser.add_argument("--idle", type=float, default=0.1, help="GRASSROOTS_DISPATCH_IDLE of the server")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a notice may take to settle")
    parser.add_argument(
        "--reports", action="store_true",
        help="the emulator posts a TEMPLATESENDJOBFINISH report to the server for every template, as WeChat "
        "does (off by default: the reports are inbound callbacks, a load of their own; see the README)",
    )
    parser.add_argument("--profile", action="store_true", help="run the server under cProfile (results/*.prof)")
    parser.add_argument(
        "--subject", choices=("notice", "meeting"), default="notice",
        help="what is delivered: a confirmed notice (default), or the reminders of a meeting starting 50 minutes "
        "ahead that invites every member (results/delivery-meeting-*)",
    )
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", PG_DEFAULT))
    args = parser.parse_args(argv)
    started = dt.datetime.now()
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_notes(),
        "rounds": args.rounds,
        "idle": args.idle,
        "reports": args.reports,
        "subject": args.subject,
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        .stdout.strip(),
        "targets": TARGETS,
    }
    summaries = each_database(args.databases, args.pg, "delivery", lambda db, tmp: bench_database(db, args, tmp))
    prefix = "delivery" if args.subject == "notice" else "delivery-meeting"
    write_results(prefix, started, meta, summaries, markdown(summaries, meta))
    return 0 if all(all(s["pass"].values()) for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
