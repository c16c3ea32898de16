"""Pre-generated callbacks for the district benchmark (`district.py`), signed and encrypted by wechatpy
itself — an independent signer, neither the service's code nor the emulator's:

- MP plaintext: `signature` = sha1 of the sorted token, timestamp and nonce (`wechatpy.utils.WeChatSigner`,
  the counterpart of `wechatpy.utils.check_signature`);
- MP safe mode (`encrypt_type=aes`): `wechatpy.crypto.WeChatCrypto.encrypt_message` gives the Encrypt
  field and `msg_signature`; the body is WeChat's inbound envelope (ToUserName + Encrypt);
- WeCom (always encrypted): `wechatpy.enterprise.crypto.WeChatCrypto`, envelope ToUserName + Encrypt +
  AgentID, `msg_signature` in the query.

One request per line, `<path?query>\\t<body>` as `callback.lua` and `district.lua` read them; beside each
file a `.keys` file holds the dedupe key the service must log for each line (same order), so the runner
can count exactly the requests a run sent in the inbound log. Every message has its own MsgId; events
(WeCom `enter_agent`) are keyed by sender + CreateTime + Event, and every sender sends once.

    python benchmarks/district_requests.py cold-plain 10000 out.txt   # a quick look at one file
"""

import random
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from benchmarks_path import ensure_repo_on_path

ensure_repo_on_path()

from wechatpy.crypto import WeChatCrypto as MpCrypto  # noqa: E402
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto  # noqa: E402
from wechatpy.utils import WeChatSigner  # noqa: E402

from emulator import EmulatorConfig  # noqa: E402  (only its credentials: what run.py passes to serve)

MP_PATH = "/wechat/mp"
WORK_PATH = "/wechat/work"
HELP = "帮助"
# Everyday words the bot does not understand (answered by the fallback), as in make_requests.py.
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
# 收到 as members write it; handlers/confirmations.py accepts each (its _ACK pattern after normalise, or a
# loose word while a notice awaits a receipt).
ACKS = [
    "收到", "收到", "收到", "收到了", "收到！", "已收到", "好的收到", "好的，收到", "收到啦", "嗯嗯收到",
    "收到，谢谢", "已收到，马上办", "ok收到", "好嘞收到", "收到～", "收到。", "好的", "1", "ok", "👌",
]  # fmt: skip
_ENVELOPE_FIELD = re.compile(r"<(Encrypt|MsgSignature)><!\[CDATA\[(.*?)\]\]></\1>")


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: Iterable[tuple[str, str | int]]) -> str:
    parts = ["<xml>"]
    for name, value in fields:
        parts.append(f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Message:
    """One callback to generate: who, what, and the key the service must log it under."""

    platform: str  # "mp" or "work"
    sender: str  # openid or userid
    text: str | None = None  # a text message, or
    event: str | None = None  # an event (enter_agent)
    msg_id: int = 0
    create_time: int = 0

    def dedupe_key(self, config: EmulatorConfig) -> str:
        """bot/callbacks/parsing.py dedupe_key(), as the service will compute it (checked, not shared)."""
        app = config.mp_appid if self.platform == "mp" else config.work_corpid
        if self.event is None:
            return f"{self.platform}:{app}:m:{self.msg_id}"
        return f"{self.platform}:{app}:e:{self.sender}:{self.create_time}:{self.event.lower()}:"


class Signer:
    """wechatpy's crypto with the credentials `grassroots serve` gets in the benchmarks (EmulatorConfig)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = c = config or EmulatorConfig()
        self.mp = MpCrypto(c.mp_token, c.mp_aes_key, c.mp_appid)
        self.work = WorkCrypto(c.work_token, c.work_aes_key, c.work_corpid)

    def plain_signature(self, timestamp: str, nonce: str) -> str:
        signer = WeChatSigner()
        signer.add_data(self.config.mp_token, timestamp, nonce)
        return signer.signature

    def _sealed(self, crypto: MpCrypto | WorkCrypto, xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        fields = dict(_ENVELOPE_FIELD.findall(crypto.encrypt_message(xml, nonce, timestamp)))
        return fields["Encrypt"], fields["MsgSignature"]

    def message_xml(self, m: Message) -> str:
        c = self.config
        to = c.mp_account_id if m.platform == "mp" else c.work_corpid
        fields: list[tuple[str, str | int]] = [
            ("ToUserName", to),
            ("FromUserName", m.sender),
            ("CreateTime", m.create_time),
        ]
        if m.event is not None:
            fields += [("MsgType", "event"), ("Event", m.event), ("EventKey", "")]
        else:
            fields += [("MsgType", "text"), ("Content", m.text or ""), ("MsgId", m.msg_id)]
        if m.platform == "work":
            fields.append(("AgentID", c.work_agentid))
        return _xml(fields)

    def request_line(self, m: Message, *, safe: bool, timestamp: str, nonce: str) -> str:
        """`<path?query>\\t<body>` for one callback (WeCom is always encrypted; `safe` is for MP)."""
        xml = self.message_xml(m)
        c = self.config
        if m.platform == "work":
            encrypt, signature = self._sealed(self.work, xml, timestamp, nonce)
            params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
            body = _xml([("ToUserName", c.work_corpid), ("Encrypt", encrypt), ("AgentID", str(c.work_agentid))])
            path = WORK_PATH
        else:
            params = {
                "signature": self.plain_signature(timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
                "openid": m.sender,
            }
            if safe:
                encrypt, signature = self._sealed(self.mp, xml, timestamp, nonce)
                params.update(encrypt_type="aes", msg_signature=signature)
                body = _xml([("ToUserName", c.mp_account_id), ("Encrypt", encrypt)])
            else:
                body = xml
            path = MP_PATH
        assert "\n" not in body and "\t" not in body
        return f"{path}?{urlencode(params)}\t{body}"

    def open_reply(self, m: Message, body: str, query: dict[str, str], *, safe: bool) -> dict[str, str] | None:
        """The reply as WeChat would read it (decrypted and signature-checked with wechatpy), None for
        `success` or an empty body; raises on anything WeChat would refuse."""
        if body.strip() in ("", "success"):
            return None
        if m.platform == "work" or safe:
            envelope = dict(_ENVELOPE_FIELD.findall(body))
            ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", body)
            nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]></Nonce>", body)
            if not (ts and nonce and "Encrypt" in envelope):
                raise ValueError(f"not an encrypted reply: {body[:200]!r}")
            crypto = self.work if m.platform == "work" else self.mp
            body = crypto.decrypt_message(
                {"Encrypt": envelope["Encrypt"]}, envelope["MsgSignature"], ts.group(1), nonce.group(1)
            )
        fields = dict(re.findall(r"<(\w+)><!\[CDATA\[(.*?)\]\]></\1>", body, re.S))
        fields.update(re.findall(r"<(CreateTime)>(\d+)</\1>", body))
        return fields


def write_requests(
    path: Path, messages: list[Message], *, safe: bool, signer: Signer | None = None, nonce_base: int = 1_000_000_000
) -> Path:
    """Writes `messages` as request lines to `path` and their dedupe keys to `path`.keys."""
    signer = signer or Signer()
    timestamp = str(int(time.time()))
    keys = path.with_suffix(path.suffix + ".keys")
    with path.open("w", encoding="utf-8") as out, keys.open("w", encoding="utf-8") as key_out:
        for i, m in enumerate(messages):
            out.write(signer.request_line(m, safe=safe, timestamp=timestamp, nonce=str(nonce_base + i)) + "\n")
            key_out.write(m.dedupe_key(signer.config) + "\n")
    return path


def read_keys(path: Path, first: int = 0, count: int | None = None) -> list[str]:
    keys = path.with_suffix(path.suffix + ".keys").read_text(encoding="utf-8").splitlines()
    return keys[first : None if count is None else first + count]


# The workloads' messages (who the senders are comes from district_seed.Roster)


def cold_messages(
    bound: list[str], followers: list[str], strangers: list[str], *, msgid_base: int, seed: int
) -> list[Message]:
    """One message from each sender, in random order: 帮助 for about a third, everyday chatter otherwise."""
    rng = random.Random(seed)
    senders = [*bound, *followers, *strangers]
    rng.shuffle(senders)
    now = int(time.time())
    return [
        Message(
            "mp", s, text=HELP if rng.random() < 0.35 else rng.choice(CHATTER), msg_id=msgid_base + i, create_time=now
        )
        for i, s in enumerate(senders)
    ]


def first_contact_messages(userids: list[str], *, msgid_base: int, seed: int) -> list[Message]:
    """Each member just imported with a WeCom userid opens the app (enter_agent, half of them) or sends a
    first message (帮助 or chatter), in random order."""
    rng = random.Random(seed)
    order = list(userids)
    rng.shuffle(order)
    now = int(time.time())
    out = []
    for i, u in enumerate(order):
        if rng.random() < 0.5:
            out.append(Message("work", u, event="enter_agent", msg_id=0, create_time=now))
        else:
            text = HELP if rng.random() < 0.35 else rng.choice(CHATTER)
            out.append(Message("work", u, text=text, msg_id=msgid_base + i, create_time=now))
    return out


def ack_messages(members: list[tuple[str, str]], *, msgid_base: int, seed: int) -> list[Message]:
    """Each recipient (platform, id) answers once with 收到 or a forgiving form, in random order."""
    rng = random.Random(seed)
    order = list(members)
    rng.shuffle(order)
    now = int(time.time())
    return [
        Message(p, u, text=rng.choice(ACKS), msg_id=msgid_base + i, create_time=now) for i, (p, u) in enumerate(order)
    ]


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("cold-plain", "cold-safe", "first", "ack"):
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    kind, n, out_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    ids = [f"o_demo_{i:06d}" for i in range(n)]
    if kind.startswith("cold"):
        msgs = cold_messages(ids, [], [], msgid_base=5_000_000_000, seed=1)
    elif kind == "first":
        msgs = first_contact_messages([f"u{i:06d}" for i in range(n)], msgid_base=5_000_000_000, seed=1)
    else:
        msgs = ack_messages([("mp", i) for i in ids], msgid_base=5_000_000_000, seed=1)
    write_requests(out_path, msgs, safe=kind == "cold-safe")
    print(f"{n} {kind} requests in {time.perf_counter() - started:.1f} s -> {out_path}")
