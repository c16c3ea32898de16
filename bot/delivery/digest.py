"""Digests (GRASSROOTS_DIGEST_MINUTES): the non-urgent notices one person gets on one channel in one
round go out as one message listing them, instead of one message each.

Confirming holds a non-urgent notice until the end of its clock slot (models/notice_send.py), so the
notices of one slot become due together and the dispatcher claims them in one batch. Rows of one
person that did not land in the same claimed batch (a batch boundary, a retry) are simply sent
separately: a digest is a courtesy, not a promise.

The merged rows share `Delivery.digest_id` (the id of the person's first row of it); a template digest
also shares its one send's msgid, so its TEMPLATESENDJOBFINISH report settles all of them. A bare 收到
after a digest confirms all its notices (models/engagement.py)."""

from collections import defaultdict
from dataclasses import dataclass

from bot.delivery.channels import truncate_utf8
from models.delivery import Channel, Delivery, Purpose
from models.subject import Subject, SubjectKind
from models.subject_texts import SubjectText

DIGEST_CHANNELS = frozenset({Channel.work_app, Channel.mp_custom, Channel.mp_template})
TEXT_MAX_BYTES = 2048  # a WeCom text message; a customer-service message takes as much
FOOTER = "回复“收到”确认全部，或“收到 编号”确认其中一条。"


@dataclass(frozen=True, slots=True)
class Digest:
    rows: list[Delivery]  # one person's rows on one channel, oldest notice first
    # Its own text and template title (a day's meeting reminders, bot/delivery/meeting_day.py); a
    # digest of notices is written from their texts.
    text: str = ""
    title: str = ""
    answer: str = ""  # how to answer, in a template's short field

    @property
    def id(self) -> int:
        """The digest's id: its first row's (every row of it stores it in `digest_id`)."""
        return min(r.id or 0 for r in self.rows)

    @property
    def subjects(self) -> list[Subject]:
        return [r.subject for r in self.rows]

    @property
    def client_msg_id(self) -> str:
        return f"digest.{self.id}"


def split_digests(rows: list[Delivery], notices: dict[Subject, SubjectText]) -> tuple[list[Digest], list[Delivery]]:
    """One person's due notices on one channel, two or more, become a digest; the rest go as they are.
    Only the notice itself (no reminders, no rows with their own body) of a non-urgent notice merges:
    an urgent notice always goes alone, at once."""
    groups: dict[tuple[int, Channel, str], list[Delivery]] = defaultdict(list)
    single: list[Delivery] = []
    for row in rows:
        info = notices.get(row.subject)
        if (
            row.subject_kind == SubjectKind.notice
            and row.purpose == Purpose.notice
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
        group.sort(key=lambda r: r.subject_id)
        digests.append(Digest(group))
    return digests, single


def _flat(text: str) -> str:
    return " ".join(text.split())


def digest_title(count: int) -> str:
    return f"您有 {count} 条新通知"


def digest_text(subjects: list[Subject], notices: dict[Subject, SubjectText], limit: int = TEXT_MAX_BYTES) -> str:
    """`您有 3 条新通知：` and one numbered line per notice. Each notice shows in full when the whole
    message fits in `limit` bytes (a WeCom member has no other place to read it); otherwise every item
    gets an even share of the room, cut with "…" (some 150 Chinese characters each of 4 long notices)."""
    head = digest_title(len(subjects)) + "："
    wants_receipt = any(notices[n].wants_receipt for n in subjects)
    prefixes = [f"{i}. 【第 {n.id} 号】" for i, n in enumerate(subjects, 1)]
    texts = [_flat(notices[n].text) for n in subjects]

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
