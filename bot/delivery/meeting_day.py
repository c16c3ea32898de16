"""Two meetings on one day for one person go in one message: the reminders of a person's meetings
that fall due together on one channel (the day-before round of meetings on the same day is due at the
same 09:00) go out as one message listing them, like a digest of notices (digest.py), whether or not
notice digests are on. Each row still settles on its own meeting; they share the digest id."""

from collections import defaultdict
from datetime import datetime

from bot.delivery.digest import DIGEST_CHANNELS, Digest
from models.delivery import Channel, Delivery, Purpose
from models.subject import SubjectKind

ANSWER = "请回复“参加 编号”或“请假 编号 理由”。"
TEMPLATE_ANSWER = "回复“参加 编号”或“请假 编号 理由”"


def _without_answer_line(body: str) -> str:
    """A reminder's text without its own how-to-answer line (the joined message has one for all)."""
    return "\n".join(line for line in body.splitlines() if not line.startswith("请回复"))


def meeting_day_text(bodies: list[str]) -> str:
    return "\n\n".join([f"您有 {len(bodies)} 个会议：", *(_without_answer_line(b) for b in bodies), ANSWER])


def split_meeting_days(rows: list[Delivery]) -> tuple[list[Digest], list[Delivery]]:
    """The meeting reminders of one person on one channel due at one moment, two or more, become one
    message (soonest meeting first: the rows were queued in the meetings' order); the rest go as
    they are."""
    groups: dict[tuple[int, Channel, str, datetime], list[Delivery]] = defaultdict(list)
    rest: list[Delivery] = []
    for row in rows:
        if (row.purpose == Purpose.meeting_reminder and row.subject_kind == SubjectKind.meeting
                and row.channel in DIGEST_CHANNELS and row.body):
            groups[(row.person_id, row.channel, row.recipient, row.next_attempt_at)].append(row)
        else:
            rest.append(row)
    days: list[Digest] = []
    for group in groups.values():
        if len(group) < 2:
            rest.extend(group)
            continue
        group.sort(key=lambda r: r.id or 0)
        bodies = [r.body or "" for r in group]
        days.append(Digest(group, text=meeting_day_text(bodies), title=f"您有 {len(group)} 个会议提醒",
                           answer=TEMPLATE_ANSWER))
    return days, rest
