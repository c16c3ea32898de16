"""补课: once a meeting is recorded as held, those who missed it (on leave or absent) get its material —
the topic and the minutes — as an outbox row about the meeting, and confirm with `已补课` when they
have studied it (an engagement, shown in 考勤 and the attendance page)."""

from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.audit import record_audit
from models.delivery import Delivery, Purpose
from models.engagement import Engagement, EngagementKind, record
from models.meeting import Attendance, Meeting, MeetingStatus, describe
from models.meeting_record import MeetingRecord
from models.outbox import queue_messages
from models.quiet_hours import not_before
from models.subject import Subject, SubjectKind
from models.typed import id_of

MINUTES_PREVIEW = 300
MISSED = ("leave", "no_reply", "absent", "attending")  # not signed in
# A 已补课 answers the material of meetings held within this time.
ANSWER_WITHIN = timedelta(days=90)


def makeup_body(meeting: Meeting, org_name: str, minutes: str, tz: tzinfo | None) -> str:
    text = minutes.strip()
    cut = text if len(text) <= MINUTES_PREVIEW else text[:MINUTES_PREVIEW] + "…"
    lines = [f"【补课 · 第{meeting.id}号会议】{org_name}",
             f"您未到会的{describe(meeting, tz)}已召开，会议材料如下。"]
    if meeting.topic:
        lines.append(f"议题：{meeting.topic}")
    if cut:
        lines.append(f"会议纪要：{cut}")
    lines.append(f"请学习后回复“已补课”（有多个时加编号，如“已补课 {meeting.id}”）。")
    return "\n".join(lines)


async def queue_makeup(*, session: AsyncSession, meeting: Meeting, record_: MeetingRecord, org_name: str,
                       attendance: Attendance, quiet: tuple[time, time] | None, now: datetime) -> int:
    """The material to everyone who missed the meeting; the people a channel reaches. Not committed."""
    missed = [p.person_id for p in attendance.people if p.status in MISSED]
    if not missed:
        return 0
    people = await load_recipients(session=session, person_ids=missed, now=now)
    queued = await queue_messages(
        session=session, subject=Subject(SubjectKind.meeting, id_of(meeting)), recipients=people.values(),
        not_before=not_before(now, quiet, urgent=False).astimezone(UTC), purpose=Purpose.makeup,
        body=makeup_body(meeting, org_name, record_.minutes, now.tzinfo))
    return len(people) - len(queued.unreachable)


async def awaiting_makeup(*, session: AsyncSession, person_id: int, now: datetime) -> list[Meeting]:
    """The held meetings whose material was sent to the person and not yet confirmed, newest first."""
    sent = select(col(Delivery.subject_id)).where(
        col(Delivery.person_id) == person_id, col(Delivery.subject_kind) == SubjectKind.meeting.value,
        col(Delivery.purpose) == Purpose.makeup.value)
    done = select(col(Engagement.subject_id)).where(
        col(Engagement.person_id) == person_id, col(Engagement.subject_kind) == SubjectKind.meeting.value,
        col(Engagement.kind) == EngagementKind.made_up.name)
    return list((await session.exec(
        select(Meeting).where(col(Meeting.id).in_(sent), col(Meeting.id).not_in(done),
                              Meeting.status == MeetingStatus.held.value,
                              col(Meeting.starts_at) > now.astimezone(UTC) - ANSWER_WITHIN)
        .order_by(col(Meeting.starts_at).desc()))).all())


async def confirm_makeup(*, session: AsyncSession, meeting: Meeting, person_id: int, actor: str) -> bool:
    """已补课; False when already confirmed. Not committed."""
    new = await record(session, Subject(SubjectKind.meeting, id_of(meeting)), person_id, EngagementKind.made_up)
    if new:
        record_audit(session=session, action="meeting.made_up", actor=actor, actor_person_id=person_id,
                     org_id=meeting.org_id, meeting_id=meeting.id)
    return new
