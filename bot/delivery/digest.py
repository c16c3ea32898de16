"""Digests (GRASSROOTS_DIGEST_MINUTES): the non-urgent notices one person gets on one channel in one
round go out as one message listing them, instead of one message each.

Confirming holds a non-urgent notice until the end of its clock slot (models/notice_send.py), so the
notices of one slot become due together and the dispatcher claims them in one batch. Rows of one
person that did not land in the same claimed batch (a batch boundary, a retry) are simply sent
separately: a digest is a courtesy, not a promise.

The merged rows share a marker in `Delivery.msgid` (no schema change): a template digest keeps the
real msgid of its one send (its TEMPLATESENDJOBFINISH report then settles all of them); the other
channels store `digest:<the person's first row id>`. A bare 收到 after a digest confirms all its notices
(models/engagement.py)."""

from collections import defaultdict
from dataclasses import dataclass

from bot.delivery.channels import truncate_utf8
from models.delivery import Channel, Delivery, Purpose
from models.engagement import DIGEST_MARKER

DIGEST_CHANNELS = frozenset({Channel.work_app, Channel.mp_custom, Channel.mp_template})
TEXT_MAX_BYTES = 2048  # a WeCom text message; a customer-service message takes as much
FOOTER = "回复“收到”确认全部，或“收到 编号”确认其中一条。"


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    text: str
    urgent: bool
    wants_receipt: bool


@dataclass(frozen=True, slots=True)
class Digest:
    rows: list[Delivery]  # one person's rows on one channel, oldest notice first
    marker: str

    @property
    def notice_ids(self) -> list[int]:
        return [r.notice_id for r in self.rows]


def marker_of(rows: list[Delivery]) -> str:
    return f"{DIGEST_MARKER}{min(r.id or 0 for r in rows)}"


def split_digests(rows: list[Delivery], notices: dict[int, NoticeInfo]) -> tuple[list[Digest], list[Delivery]]:
    """One person's due notices on one channel, two or more, become a digest; the rest go as they are.
    Only the notice itself (no reminders, no rows with their own body) of a non-urgent notice merges:
    an urgent notice always goes alone, at once."""
    groups: dict[tuple[int, Channel, str], list[Delivery]] = defaultdict(list)
    single: list[Delivery] = []
    for row in rows:
        info = notices.get(row.notice_id)
        if (
            row.purpose == Purpose.notice
            and row.channel in DIGEST_CHANNELS
            and row.body is None
            and info is not None
            and not info.urgent
        ):
            groups[(row.person_id, row.channel, row.recipient)].append(row)
        else:
            single.append(row)
    digests = []
    for group in groups.values():
        if len(group) < 2:
            single.extend(group)
            continue
        group.sort(key=lambda r: r.notice_id)
        digests.append(Digest(group, marker_of(group)))
    return digests, single


def _flat(text: str) -> str:
    return " ".join(text.split())


def digest_title(count: int) -> str:
    return f"您有 {count} 条新通知"


def digest_text(notice_ids: list[int], notices: dict[int, NoticeInfo], limit: int = TEXT_MAX_BYTES) -> str:
    """`您有 3 条新通知：` and one numbered line per notice. Each notice shows in full when the whole
    message fits in `limit` bytes (a WeCom member has no other place to read it); otherwise every item
    gets an even share of the room, cut with "…" (some 150 Chinese characters each of 4 long notices)."""
    head = digest_title(len(notice_ids)) + "："
    wants_receipt = any(notices[n].wants_receipt for n in notice_ids)
    prefixes = [f"{i}. 【第 {n} 号】" for i, n in enumerate(notice_ids, 1)]
    texts = [_flat(notices[n].text) for n in notice_ids]

    def build(items: list[str]) -> str:
        lines = [p + t for p, t in zip(prefixes, items, strict=True)]
        return "\n".join([head, *lines, *([FOOTER] if wants_receipt else [])])

    whole = build(texts)
    if len(whole.encode()) <= limit:
        return whole
    room = limit - len(build([""] * len(texts)).encode())
    items = list(texts)
    # Shortest first: a short notice keeps all of its text and leaves the rest of its share to the others.
    by_size = sorted(range(len(texts)), key=lambda i: len(texts[i].encode()))
    for done, i in enumerate(by_size):
        share = max(0, room // (len(texts) - done))
        items[i] = truncate_utf8(texts[i], share) if share >= len("…".encode()) else ""
        room -= len(items[i].encode())
    return truncate_utf8(build(items), limit)  # a guard: the shares already fit
