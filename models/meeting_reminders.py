"""Meeting reminders are outbox rows carrying the meeting (models/outbox.py), with the same claims,
retries, fallbacks, quiet hours and rate limits as a notice: queued by a tick (and when a meeting is
created) for the meetings starting within HORIZON, due the day before at 09:00 (round 1) and 2 h before
(round 2, only to those who have not replied by then), never in quiet hours and never after the start.
They say what, when, where and how to answer. Nothing lives only in memory: a tick after downtime queues
what is still useful, once."""

from datetime import UTC, datetime, time, timedelta, tzinfo

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

DAY_BEFORE_AT = time(9, 0)
SHORTLY_BEFORE = timedelta(hours=2)


def reminder_times(starts: datetime, now: datetime, quiet: tuple[time, time] | None) -> list[tuple[int, datetime]]:
    """(round, when) of the reminders still useful for a meeting starting at `starts` (aware, local),
    as of `now`: those planned ahead, moved out of the quiet hours, before the start. A meeting created
    after both planned moments gets one reminder now (if the start is still ahead and not quiet)."""
    planned = [(1, datetime.combine(starts.date() - timedelta(days=1), DAY_BEFORE_AT, tzinfo=starts.tzinfo)),
               (2, starts - SHORTLY_BEFORE)]
    ahead = [(r, not_before(at, quiet, urgent=False)) for r, at in planned if at > now]
    if not ahead:
        ahead = [(2, not_before(now, quiet, urgent=False))]
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


# The tick queues the reminders of meetings starting within this time: round 1 falls the day before at
# 09:00, so a day and a half covers it; a long series is not turned into outbox rows all at once.
HORIZON = timedelta(hours=36)


async def queue_due_reminders(*, session: AsyncSession, now: datetime, quiet: tuple[time, time] | None) -> int:
    """The reminders of the scheduled meetings starting within HORIZON whose rounds are not queued yet
    (safe on every tick and in every instance: a row is written once). `now` aware, local. Not
    committed; returns the rows written."""
    meetings = (await session.exec(select(Meeting).where(
        Meeting.status == MeetingStatus.scheduled.value, col(Meeting.starts_at) > now.astimezone(UTC),
        col(Meeting.starts_at) <= (now + HORIZON).astimezone(UTC)).order_by(col(Meeting.starts_at)))).all()
    if not meetings:
        return 0
    queued = {(i, r) for i, r in (await session.exec(
        select(col(Delivery.subject_id), col(Delivery.round)).distinct().where(
            col(Delivery.subject_kind) == SubjectKind.meeting.value, col(Delivery.purpose) == Purpose.meeting_reminder,
            col(Delivery.subject_id).in_([id_of(m) for m in meetings])))).all()}
    written = 0
    for meeting in meetings:
        rounds = [(r, at) for r, at in reminder_times(meeting.starts_at.astimezone(now.tzinfo), now, quiet)
                  if (meeting.id, round_of(meeting, r)) not in queued]
        if not rounds:
            continue
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
