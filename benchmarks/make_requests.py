"""Pre-generates signed WeChat callback requests for wrk (`callback.lua`), one per line:

    <path with query string> TAB <body>

Each request carries its own MsgId, so none is a duplicate (a duplicate would take the cheap dedupe
path); MsgIds of a file are `msgid_base + i`, so the runner can count afterwards exactly which requests
of a run reached the inbound log. Requests are signed, and in safe mode encrypted, by the WeChat
emulator's own phone (`Phone.build_request`), with the credentials of `EmulatorConfig`. Timestamps are
those of generation time: run the server with GRASSROOTS_CALLBACK_MAX_SKEW=0.

    python benchmarks/make_requests.py plain 200000 2000000000 out.txt
"""

import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks_path import ensure_repo_on_path

ensure_repo_on_path()

from seed import Users, users  # noqa: E402

from emulator import EmulatorConfig  # noqa: E402
from emulator.phonebook import PhoneBook  # noqa: E402
from emulator.state import EmulatorState  # noqa: E402

CALLBACK_PATH = "/wechat/mp"
HELP = "帮助"
# What people type that the bot does not understand (the fallback handler answers them). Commands
# such as 收到 are not chatter: they do real work (a look-up and a write) and belong to their own
# feature's benchmark.
CHATTER = [
    "今天下午的支部会议几点开始？",
    "谢谢",
    "好的，谢谢书记",
    "我想问一下这个月党费怎么交",
    "社区门口的路灯坏了，麻烦安排人看看",
    "明天的志愿服务我报名参加",
    "你好",
    "在吗",
]


def messages(who: Users, count: int, seed: int) -> list[tuple[str, str]]:
    """(openid, text) for `count` messages: mostly bound members, some followers and strangers; about
    a third ask for 帮助, the rest is chatter."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        group = who.bound if roll < 0.75 else (who.followers if roll < 0.875 else who.strangers)
        text = HELP if rng.random() < 0.35 else rng.choice(CHATTER)
        out.append((rng.choice(group), text))
    return out


def generate(mode: str, count: int, msgid_base: int, path: Path, *, seed: int = 1) -> Path:
    """Writes `count` requests for `mode` ("plain" or "safe") to `path`."""
    if mode not in ("plain", "safe"):
        raise ValueError(f"mode must be plain or safe, not {mode!r}")
    config = EmulatorConfig(mp_safe_mode=(mode == "safe"))
    book = PhoneBook(EmulatorState(config))
    phones = {}
    timestamp = str(int(time.time()))
    with path.open("w", encoding="utf-8") as out:
        for i, (user, text) in enumerate(messages(users(), count, seed + msgid_base)):
            phone = phones.get(user) or phones.setdefault(user, book.get("mp", user))
            xml = phone.message_xml("text", [("Content", text), ("MsgId", msgid_base + i)])
            params, body = phone.build_request(xml, timestamp=timestamp, nonce=str(1_000_000_000 + i))
            line_body = body.decode()
            assert "\n" not in line_body and "\t" not in line_body
            out.write(f"{CALLBACK_PATH}?{urlencode(params)}\t{line_body}\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    started = time.perf_counter()
    generate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    print(f"{sys.argv[2]} {sys.argv[1]} requests in {time.perf_counter() - started:.1f} s → {sys.argv[4]}")
