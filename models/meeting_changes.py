"""改期 and 取消会议: a scheduled meeting moved to a new time (its version bumped, so the reminders of
the old time are dropped and the new time gets its own) or cancelled; either way everyone invited
is told at once. Replies that still apply are kept: after 改期 a member's 参加 or 请假 stands (the
notice asks them to answer again if it changed); after 取消 nothing is asked."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.audit import record_audit
from models.delivery import Purpose
from models.meeting import Meeting, MeetingKind, MeetingStatus, attendee_ids, describe
from models.meeting_reminders import DEFAULT_OFFSETS, Offset, queue_due_reminders
from models.organisation import Organisation
from models.outbox import queue_messages
from models.quiet_hours import not_before
from models.subject import Subject, SubjectKind
from models.typed import id_of


@dataclass(frozen=True, slots=True)
class Changed:
    refused: str = ""  # why not, when it was not changed
    told: int = 0  # attendees a channel reaches


def _refusal(meeting: Meeting, now: datetime) -> str:
    if meeting.status == MeetingStatus.cancelled:
        return f"第 {meeting.id} 号会议已取消。"
    if meeting.status == MeetingStatus.held:
        return f"第 {meeting.id} 号会议已记录为已召开，不能再改。"
    if meeting.starts_at <= now:
        return f"第 {meeting.id} 号会议已经开始，不能再改期或取消。"
    return ""


async def _tell(session: AsyncSession, meeting: Meeting, org: Organisation, body: str, purpose: Purpose,
                round_: int, now: datetime, quiet: tuple[time, time] | None) -> int:
    group = await session.get(Organisation, meeting.group_org_id) if meeting.group_org_id else None
    ids = await attendee_ids(session=session, kind=MeetingKind(meeting.kind), org=org, group=group)
    people = await load_recipients(session=session, person_ids=ids, now=now)
    queued = await queue_messages(session=session, subject=Subject(SubjectKind.meeting, id_of(meeting)),
                                  recipients=people.values(),
                                  not_before=not_before(now, quiet, urgent=True).astimezone(UTC), purpose=purpose,
                                  round=round_, body=body)
    return len(people) - len(queued.unreachable)


async def reschedule(*, session: AsyncSession, meeting: Meeting, org: Organisation, starts_at: datetime,
                     place: str, by: int | None, actor: str, now: datetime, quiet: tuple[time, time] | None,
                     offsets: Sequence[Offset] = DEFAULT_OFFSETS) -> Changed:
    """Moves the meeting (and its place, if given) and tells the attendees. Not committed."""
    if refusal := _refusal(meeting, now):
        return Changed(refusal)
    if starts_at <= now:
        return Changed("新的时间已经过去，请回复以后的时间。")
    before = describe(meeting, now.tzinfo)
    meeting.starts_at, meeting.version, meeting.reminded = starts_at.astimezone(UTC), meeting.version + 1, 0
    if place:
        meeting.place = place
    session.add(meeting)
    await session.flush()
    body = (f"【会议改期 · 第{meeting.id}号】{org.name}\n原定：{before}\n改为：{describe(meeting, now.tzinfo)}\n"
            "您之前的回复（参加或请假）仍然有效；如有变化，请重新回复“参加”或“请假 理由”。")
    # Urgent for the quiet hours: a change of time must not wait for the morning after it.
    told = await _tell(session, meeting, org, body, Purpose.meeting_change, meeting.version, now, quiet)
    await queue_due_reminders(session=session, now=now, quiet=quiet, offsets=offsets)
    record_audit(session=session, action="meeting.reschedule", actor=actor, actor_person_id=by, org_id=meeting.org_id,
                 meeting_id=meeting.id, starts_at=meeting.starts_at.isoformat(), version=meeting.version)
    return Changed(told=told)


async def cancel(*, session: AsyncSession, meeting: Meeting, org: Organisation, reason: str, by: int | None,
                 actor: str, now: datetime, quiet: tuple[time, time] | None) -> Changed:
    """Cancels the meeting (its pending reminders are dropped when claimed) and tells the attendees."""
    if refusal := _refusal(meeting, now):
        return Changed(refusal)
    meeting.status = MeetingStatus.cancelled
    session.add(meeting)
    said = f"\n原因：{reason}" if reason else ""
    body = f"【会议取消 · 第{meeting.id}号】{org.name}\n{describe(meeting, now.tzinfo)} 取消，不再召开。{said}"
    told = await _tell(session, meeting, org, body, Purpose.meeting_change, -1, now, quiet)
    record_audit(session=session, action="meeting.cancel", actor=actor, actor_person_id=by, org_id=meeting.org_id,
                 meeting_id=meeting.id, reason=reason or None)
    return Changed(told=told)
