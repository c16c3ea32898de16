"""Summarises a py-spy `--format raw` profile (folded stacks) as written by `run.py --profile`:
samples per thread, the top functions by own time and by inclusive time, and the share of chosen
parts of the callback path.

    .venv/bin/python benchmarks/profile_summary.py benchmarks/results/profile-sqlite-plain.folded [--top 25]
"""

import argparse
import re
from collections import Counter
from pathlib import Path

# Parts of the path worth a line of their own: a sample counts for a part when any of its frames matches.
PARTS = {
    "aiohttp request handling (RequestHandler)": r"RequestHandler\.",
    "callback view (receive)": r"^receive \(bot/callbacks/views\.py",
    "verify + decrypt (Endpoint.open)": r"^Endpoint\.open ",
    "  of which AES decrypt (wechatpy PrpCrypto.decrypt)": r"PrpCrypto\.decrypt",
    "parse XML (xml_fields, to_inbound)": r"^(xml_fields|to_inbound) \(bot/callbacks/parsing\.py",
    "encrypt reply (Endpoint.seal)": r"^Endpoint\.seal ",
    "render reply XML (render_text_reply)": r"^render_text_reply ",
    "CallbackService.handle": r"^CallbackService\.handle ",
    "  handler task (CallbackService._run_handler)": r"^CallbackService\._run_handler ",
    "  AsyncSession open/close per message": r"^(AsyncSession|Session)\.(__aexit__|__aenter__|close|__init__)",
    "  dispatch (routers + handler)": r"^dispatch \(handlers/routing\.py",
    "  asyncio.wait for the handler task": r"^wait \(asyncio/tasks\.py",
    "journal writer task (InboundJournal._run)": r"^InboundJournal\._(run|write|apply) ",
    "journal claim/settle (caller side)": r"^InboundJournal\.(claim|settle|_submit) ",
    "SQLAlchemy, any": r"\(sqlalchemy/",
    "  SQL compilation (compiler.py, crud.py)": r"\(sqlalchemy/sql/(compiler|crud)\.py",
    "  ORM session": r"\(sqlalchemy/orm/",
    "aiosqlite (both threads)": r"\(aiosqlite/",
    "asyncpg": r"\(asyncpg/",
    "prometheus_client": r"\(prometheus_client/",
    "epoll wait (idle loop)": r"EpollSelector\.select",
}


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def short(frame: str) -> str:
    frame = re.sub(r"/[^ ]*/site-packages/", "", frame)
    frame = re.sub(r"/[^ ]*/lib/python3\.\d+/", "", frame)
    return re.sub(r"/work/main/", "", frame)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folded", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--us-per-request",
        type=float,
        default=0.0,
        help="the run's server CPU µs per request (run.py's table): shares are also shown in µs per request",
    )
    args = parser.parse_args()
    stacks = [([short(f) for f in frames], n) for frames, n in load(args.folded)]
    total = sum(n for _, n in stacks)
    threads = Counter()
    own = Counter()
    inclusive = Counter()
    parts = Counter()
    for frames, n in stacks:
        threads[frames[0]] += n
        own[frames[-1]] += n
        for f in set(frames[1:]):
            inclusive[f] += n
        for name, pattern in PARTS.items():
            if any(re.search(pattern, f) for f in frames[1:]):
                parts[name] += n
    print(f"{args.folded}: {total} samples")
    print("\nthreads:")
    for t, n in threads.most_common():
        print(f"  {n / total:6.1%}  {t}")
    # Samples in epoll are the loop waiting, not CPU: µs are shares of the busy samples.
    idle = parts["epoll wait (idle loop)"]
    scale = args.us_per_request / max(total - idle, 1) if args.us_per_request else 0.0

    def us(n: int) -> str:
        return f"{n * scale:7.1f} µs" if scale else ""

    print("\nparts of the path (inclusive, a sample may count in several):")
    for name in PARTS:
        print(f"  {parts[name] / total:6.1%} {us(parts[name]) if 'idle' not in name else ' ' * 10}  {name}")
    print(f"\ntop {args.top} by own time:")
    for f, n in own.most_common(args.top):
        print(f"  {n / total:6.1%} {us(n)}  {f}")
    print(f"\ntop {args.top} by inclusive time:")
    for f, n in inclusive.most_common(args.top):
        print(f"  {n / total:6.1%} {us(n)}  {f}")


if __name__ == "__main__":
    main()
