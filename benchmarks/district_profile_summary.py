"""Summarises a py-spy profile of district.py --profile (`--format raw --threads --idle`): the event-loop
thread's samples split into idle (waiting in epoll) and the parts of the callback path, and the other
threads (aiosqlite's connection threads, the journal's writer) busy or waiting for work.

    .venv/bin/python benchmarks/district_profile_summary.py benchmarks/results/district-profile-sqlite-burst.folded
"""

import argparse
import re
from collections import Counter
from pathlib import Path

from profile_summary import short


def load(path: Path) -> list[tuple[list[str], int]]:
    """Folded stacks; a line cut short (py-spy interrupted while writing) is left out."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


# Parts of the event loop's time; a sample counts for every part one of its frames matches.
PARTS = {
    "idle: waiting in epoll": r"EpollSelector\.select",
    "directory miss (DirectoryCache.load → load_sender_profile)": r"^DirectoryCache\.load ",
    "handler (CallbackService._invoke: routers, handler, its session)": r"^CallbackService\._invoke ",
    "  of which 收到 (confirmations.confirm)": r"^confirm \(handlers/confirmations\.py",
    "  of which binding (bind_work_user / ensure_identity)": r"^(bind_work_user|ensure_identity) ",
    "journal, caller side (claim / settle)": r"^InboundJournal\.(claim|settle|_submit) ",
    "journal writer task (InboundJournal._write)": r"^InboundJournal\._write ",
    "SQLAlchemy, any": r"\(sqlalchemy/",
    "  building statements (operators, coercions, annotations)": (
        r"\(sqlalchemy/sql/(operators|coercions|annotation|default_comparator|elements)\.py"
    ),
    "  cache keys and compilation": r"\(sqlalchemy/sql/(cache_key|compiler|crud)\.py",
    "  ORM loading and session bookkeeping": r"\(sqlalchemy/orm/",
    "  pool checkout / return": r"\(sqlalchemy/pool/",
    "aiosqlite, loop side (a hop to its thread per call)": r"\(aiosqlite/",
    "asyncpg": r"\(asyncpg/",
    "greenlet switches (SQLAlchemy's async bridge)": r"greenlet_spawn|await_ \(sqlalchemy",
    "aiohttp request handling": r"\(aiohttp/",
    "XML parse, verify, decrypt, encrypt": r"^(xml_fields|to_inbound|Endpoint\.open|Endpoint\.seal) ",
    "wake-ups from other threads (_read_from_self)": r"_read_from_self",
    "garbage collection": r"gc_collect|^collect ",
}
IDLE_LEAVES = (
    r"_connection_worker_thread \(aiosqlite/core\.py:59\)",
    r"_worker \(concurrent/futures/thread\.py:81\)",
    r"EpollSelector\.select",
    r"Condition\.wait|Event\.wait|_wait_for_tstate_lock",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folded", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    stacks = [([short(f) for f in frames], n) for frames, n in load(args.folded)]
    main_stacks = [(f, n) for f, n in stacks if "MainThread" in f[0]]
    total = sum(n for _, n in main_stacks)
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in main_stacks:
        own[frames[-1]] += n
        for name, pattern in PARTS.items():
            if any(re.search(pattern, f) for f in frames[1:]):
                parts[name] += n
    print(f"{args.folded}: event-loop thread {total} samples")
    for name in PARTS:
        print(f"  {parts[name] / max(total, 1):6.1%}  {name}")
    print(f"\nevent loop, top {args.top} by own time:")
    for f, n in own.most_common(args.top):
        print(f"  {n / max(total, 1):6.1%}  {f}")
    groups: Counter[str] = Counter()
    busy: Counter[str] = Counter()
    busy_leaf: Counter[str] = Counter()
    for frames, n in stacks:
        if "MainThread" in frames[0]:
            continue
        name = re.sub(r"thread \(\d+\): ", "", frames[0])
        group = "aiosqlite connection threads" if "_connection_worker_thread" in name else re.sub(r"_\d+$", "", name)
        groups[group] += n
        if not any(re.search(p, frames[-1]) for p in IDLE_LEAVES):
            busy[group] += n
            busy_leaf[f"{group}: {frames[-1]}"] += n
    print("\nother threads (samples as a share of the event loop's; busy = not waiting for work):")
    for g, n in groups.most_common():
        print(f"  {g}: {n / max(total, 1):6.1%} sampled, {busy[g] / max(total, 1):6.1%} busy")
    print("\nother threads, top busy frames:")
    for f, n in busy_leaf.most_common(args.top):
        print(f"  {n / max(total, 1):6.1%}  {f}")


if __name__ == "__main__":
    main()
