"""Meeting reminders are outbox rows carrying the meeting (models/outbox.py), with the same claims,
retries, fallbacks, quiet hours and rate limits as a notice: queued by a tick (and when a meeting is
created) for the meetings starting within HORIZON, due the day before at 09:00 (round 1) and 2 h before
(round 2, only to those who have not replied by then), never in quiet hours and never after the start.
They say what, when, where and how to answer. Nothing lives only in memory: a tick after downtime queues
what is still useful, once."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.delivery import Delivery, Purpose
from models.engagement import Engagement, EngagementKind
from models.meeting import Meeting, MeetingKind, MeetingStatus, attendee_ids, title_of
from models.message_frame import when_words
from models.organisation import Organisation
from models.outbox import queue_messages
from models.quiet_hours import not_before
from models.subject import Subject, SubjectKind
from models.typed import id_of


@dataclass(frozen=True, slots=True)
class Offset:
    """When a reminder falls: `days` before the start at the clock time `at` (the day before at 09:00),
    or `before` the start (2 hours before)."""

    days: int = 0
    at: time | None = None
    before: timedelta = timedelta(0)

    def moment(self, starts: datetime) -> datetime:
        if self.at is not None:
            return datetime.combine(starts.date() - timedelta(days=self.days), self.at, tzinfo=starts.tzinfo)
        return starts - self.before

    @property
    def reach(self) -> timedelta:
        """How long before the start it may fall, at most."""
        return timedelta(days=self.days + 1) if self.at is not None else self.before


DEFAULT_OFFSETS_TEXT = "1d@09:00,2h"
_OFFSET = re.compile(r"^(?:(\d{1,2})d@(\d{1,2}):(\d{2})|(\d{1,3})(h|m))$")
MAX_OFFSETS = 9  # rounds 1–9 of a version (ROUND_SPAN below); 0 is the notice sent at creation


def parse_offsets(text: str) -> tuple[Offset, ...]:
    """`1d@09:00,2h` (the day before at 09:00, and 2 hours before; `30m` for minutes), earliest first;
    raises ValueError saying what is wrong (GRASSROOTS_MEETING_REMINDERS)."""
    found = []
    for item in (p.strip() for p in text.split(",") if p.strip()):
        m = _OFFSET.match(item)
        if m is None:
            raise ValueError(f"“{item}”应写作 1d@09:00（提前一天的 9 点）或 2h、30m（提前 2 小时、30 分钟）")
        if m.group(1) is not None:
            hour, minute = int(m.group(2)), int(m.group(3))
            if not (1 <= int(m.group(1)) <= 30 and hour < 24 and minute < 60):
                raise ValueError(f"“{item}”的天数应为 1–30，时间应为 00:00–23:59")
            found.append(Offset(days=int(m.group(1)), at=time(hour, minute)))
        else:
            amount = timedelta(hours=int(m.group(4))) if m.group(5) == "h" else timedelta(minutes=int(m.group(4)))
            if not timedelta(minutes=5) <= amount <= timedelta(days=7):
                raise ValueError(f"“{item}”应在 5 分钟到 7 天之间")
            found.append(Offset(before=amount))
    if not 1 <= len(found) <= MAX_OFFSETS:
        raise ValueError(f"会议提醒应有 1–{MAX_OFFSETS} 次")
    reference = datetime(2026, 6, 15, 19, 30)
    return tuple(sorted(found, key=lambda o: o.moment(reference)))


DEFAULT_OFFSETS = parse_offsets(DEFAULT_OFFSETS_TEXT)


def reminder_times(starts: datetime, now: datetime, quiet: tuple[time, time] | None,
                   offsets: Sequence[Offset] = DEFAULT_OFFSETS) -> list[tuple[int, datetime]]:
    """(round, when) of the reminders still useful for a meeting starting at `starts` (aware, local),
    as of `now`: those planned ahead (round 1 the earliest offset), moved out of the quiet hours, before
    the start. A meeting created after every planned moment gets one reminder now, as the last round
    (if the start is still ahead and not quiet)."""
    planned = [(i, o.moment(starts)) for i, o in enumerate(offsets, start=1)]
    ahead = [(r, not_before(at, quiet, urgent=False)) for r, at in planned if at > now]
    if not ahead:
        ahead = [(len(offsets), not_before(now, quiet, urgent=False))]
    found: list[tuple[int, datetime]] = []
    for round_, at in ahead:
        if at < starts and all(at > earlier for _r, earlier in found):
            found.append((round_, at))
    return found


def reminder_body(meeting: Meeting, org_name: str, tz: tzinfo | None) -> str:
    lines = [f"【会议提醒 · 第{meeting.id}号】{org_name}",
             f"{title_of(meeting)}：{when_words(meeting.starts_at, tz)}（约{meeting.minutes}分钟）"]
    if meeting.place:
        lines.append(f"地点：{meeting.place}")
    if meeting.topic:
        lines.append(f"议题：{meeting.topic}")
    lines.append(f"请回复“参加”或“请假 理由”（有多个会议时加编号，如“参加 {meeting.id}”）。")
    return "\n".join(lines)


# A reminder row's round is the meeting's version and the round proper together (version 2, round 1:
# 21), so a rescheduled meeting's reminders are new rows: the message key stays unique per time.
ROUND_SPAN = 10


def round_of(meeting: Meeting, round_: int) -> int:
    return meeting.version * ROUND_SPAN + round_


def version_of(round_: int) -> int:
    return round_ // ROUND_SPAN


def proper_round(round_: int) -> int:
    return round_ % ROUND_SPAN


# The tick queues the reminders of meetings starting within the reach of the earliest offset and half a
# day more (the default's round 1 falls the day before at 09:00: 36 hours); a long series is not turned
# into outbox rows all at once.
def horizon(offsets: Sequence[Offset]) -> timedelta:
    return max(o.reach for o in offsets) + timedelta(hours=12)


HORIZON = horizon(DEFAULT_OFFSETS)


async def queue_due_reminders(*, session: AsyncSession, now: datetime, quiet: tuple[time, time] | None,
                              offsets: Sequence[Offset] = DEFAULT_OFFSETS) -> int:
    """The reminders of the scheduled meetings starting within the horizon whose rounds are not queued
    yet (safe on every tick and in every instance: a row is written once). Which rounds a meeting has
    had is kept on it (`reminded`, a bit per round of its version), so a tick with nothing due reads
    the meetings ahead and nothing else. `now` aware, local. Not committed; returns the rows written."""
    # A meeting with every round queued is not even read: a tick with nothing due reads next to nothing.
    every_round = sum(1 << r for r in range(1, len(offsets) + 1))
    ahead = (await session.exec(
        select(col(Meeting.id), col(Meeting.starts_at), col(Meeting.reminded)).where(
            Meeting.status == MeetingStatus.scheduled.value, col(Meeting.starts_at) > now.astimezone(UTC),
            col(Meeting.starts_at) <= (now + horizon(offsets)).astimezone(UTC),
            col(Meeting.reminded).op("&")(every_round) != every_round)
        .order_by(col(Meeting.starts_at)))).all()
    written = 0
    for meeting_id, starts_at, reminded in ahead:
        rounds = [(r, at) for r, at in reminder_times(starts_at.astimezone(now.tzinfo), now, quiet, offsets)
                  if not reminded & (1 << r)]
        if not rounds or meeting_id is None:
            continue
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        org = await session.get(Organisation, meeting.org_id)
        group = await session.get(Organisation, meeting.group_org_id) if meeting.group_org_id else None
        assert org is not None
        attendees = await attendee_ids(session=session, kind=MeetingKind(meeting.kind), org=org, group=group)
        people = await load_recipients(session=session, person_ids=attendees, now=now)
        body = reminder_body(meeting, org.name, now.tzinfo)
        for round_, at in rounds:
            result = await queue_messages(session=session, subject=Subject(SubjectKind.meeting, id_of(meeting)),
                                          recipients=people.values(), not_before=at.astimezone(UTC),
                                          purpose=Purpose.meeting_reminder, round=round_of(meeting, round_),
                                          body=body)
            written += result.rows
        # OR-ed in the database: another instance's tick may have marked other rounds meanwhile. The
        # rounds before the first one queued now will never come (their moment passed): marked too.
        bits = sum(1 << r for r in range(1, max(r for r, _at in rounds) + 1))
        await session.exec(update(Meeting).where(col(Meeting.id) == meeting_id)
                           .values(reminded=col(Meeting.reminded).op("|")(bits)))
    return written


STALE_REASON = "会议已开始或已取消，提醒不再发送"
MOVED_REASON = "会议已改期，按新的时间提醒"
ANSWERED_REASON = "已回复参加或请假，不再重复提醒"
ANSWERS = (EngagementKind.attending.name, EngagementKind.leave.name, EngagementKind.signed_in.name)


async def stale_reminders(*, session: AsyncSession, rows: list[Delivery], now: datetime) -> dict[str, list[Delivery]]:
    """The claimed meeting reminders no longer worth sending, by why: their meeting has started or is
    no longer scheduled (a dispatcher back after downtime claims rows that fell due while it was
    away), or — the later rounds, for those who have not replied — the member has answered already."""
    reminders = [r for r in rows if r.purpose == Purpose.meeting_reminder and r.subject_kind == SubjectKind.meeting]
    if not reminders:
        return {}
    ids = sorted({r.subject_id for r in reminders})
    live = dict((await session.exec(select(col(Meeting.id), col(Meeting.version)).where(
        col(Meeting.id).in_(ids), Meeting.status == MeetingStatus.scheduled.value,
        col(Meeting.starts_at) > now.astimezone(UTC)))).all())
    later = [r for r in reminders if proper_round(r.round) > 1 and r.subject_id in live]
    answered: set[tuple[int, int]] = set()
    if later:
        answered = {(m, p) for m, p in (await session.exec(select(col(Engagement.subject_id), col(Engagement.person_id))
                    .where(col(Engagement.subject_kind) == SubjectKind.meeting.value,
                           col(Engagement.subject_id).in_({r.subject_id for r in later}),
                           col(Engagement.person_id).in_({r.person_id for r in later}),
                           col(Engagement.kind).in_(ANSWERS)))).all()}
    found: dict[str, list[Delivery]] = {}
    for row in reminders:
        if row.subject_id not in live:
            found.setdefault(STALE_REASON, []).append(row)
        elif version_of(row.round) != live[row.subject_id]:
            found.setdefault(MOVED_REASON, []).append(row)
        elif proper_round(row.round) > 1 and (row.subject_id, row.person_id) in answered:
            found.setdefault(ANSWERED_REASON, []).append(row)
    return found
