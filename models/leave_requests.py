"""A member's 请假 goes to the secretary who approves it, and the secretary's 批准 / 不批准 back to the
member. Both are outbox rows about the leave (SubjectKind.leave, its engagement's id), so several
members' leaves for one meeting are each told once, and a repeated 请假 is not told twice.

Who approves: the role holders of the meeting's organisation (a 党小组会's group, which has none of
its own, goes to its branch), the nearest organisation above when it has none, never the member
themself — a secretary's own leave goes to the level above."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.audit import record_audit
from models.delivery import Delivery, Purpose
from models.engagement import Approval, Engagement, EngagementKind, decide_leave
from models.meeting import Meeting, MeetingStatus, describe, ends_at
from models.organisation import Organisation
from models.outbox import queue_messages
from models.person import Person
from models.quiet_hours import not_before
from models.role_holders import nearest_holders
from models.subject import Subject, SubjectKind
from models.typed import id_of

NO_REASON = "未说明理由"
# Meetings are shorter than this: the query's bound on the start time; the exact end is checked after.
MEETING_SPAN = timedelta(days=1)


def request_body(meeting: Meeting, org_name: str, member_name: str, reason: str, tz: tzinfo | None) -> str:
    return (f"【请假 · 第{meeting.id}号会议】{member_name}（{org_name}）请假：{reason or NO_REASON}\n"
            f"会议：{describe(meeting, tz)}\n"
            "请回复“批准”或“不批准 说明”（有多人请假时加姓名，如“批准 " + member_name + "”）。")


async def tell_approvers(*, session: AsyncSession, meeting: Meeting, leave: Engagement, member_name: str,
                         quiet: tuple[time, time] | None, now: datetime) -> int:
    """Queues the leave to its approvers (once per leave: a repeated 请假 writes nothing); how many
    approvers a channel reaches, 0 when none (the leave still shows in 考勤). Not committed."""
    where = meeting.group_org_id or meeting.org_id
    org = await session.get(Organisation, where)
    assert org is not None
    _org_id, approvers = (await nearest_holders(session, [org.path], own=True, excluding={leave.person_id}))[org.path]
    if not approvers:
        return 0
    people = await load_recipients(session=session, person_ids=approvers, now=now)
    queued = await queue_messages(
        session=session, subject=Subject(SubjectKind.leave, id_of(leave)), recipients=people.values(),
        not_before=not_before(now, quiet, urgent=False).astimezone(UTC), purpose=Purpose.leave_request,
        body=request_body(meeting, org.name, member_name, leave.note, now.tzinfo),
    )
    return len(people) - len(queued.unreachable)


@dataclass(frozen=True, slots=True)
class PendingLeave:
    leave: Engagement
    meeting: Meeting
    member_name: str


async def pending_leaves(*, session: AsyncSession, approver_id: int, now: datetime) -> list[PendingLeave]:
    """The leaves told to this approver that await an answer, for meetings not yet over, oldest first.
    A leave the member took back (by answering 参加) is gone with its engagement."""
    told = select(col(Delivery.subject_id)).where(
        col(Delivery.person_id) == approver_id, col(Delivery.subject_kind) == SubjectKind.leave.value,
        col(Delivery.purpose) == Purpose.leave_request.value)
    rows = (await session.exec(
        select(Engagement, Meeting, Person.name)
        .join(Meeting, col(Meeting.id) == Engagement.subject_id)
        .join(Person, col(Person.id) == Engagement.person_id)
        .where(col(Engagement.id).in_(told), col(Engagement.subject_kind) == SubjectKind.meeting.value,
               col(Engagement.kind) == EngagementKind.leave.name, col(Engagement.approval).is_(None),
               Meeting.status == MeetingStatus.scheduled.value, col(Meeting.starts_at) > now.astimezone(UTC)
               - MEETING_SPAN)
        .order_by(col(Engagement.at), col(Engagement.id))
    )).all()
    return [PendingLeave(leave, meeting, name) for leave, meeting, name in rows if ends_at(meeting) > now]


def decision_body(pending: PendingLeave, approval: Approval, by_name: str, note: str, tz: tzinfo | None) -> str:
    what = describe(pending.meeting, tz)
    said = f"，说明：{note}" if note else ""
    if approval == Approval.approved:
        return (f"【请假已批准 · 第{pending.meeting.id}号会议】{by_name}已批准您的请假{said}。\n会议：{what}\n"
                "会后请及时学习会议内容。")
    return (f"【请假未批准 · 第{pending.meeting.id}号会议】{by_name}未批准您的请假{said}。\n会议：{what}\n"
            "请按时参加；如确有困难，请直接联系书记。")


async def decide(*, session: AsyncSession, pending: PendingLeave, approval: Approval, by: int, by_name: str,
                 note: str, actor: str, quiet: tuple[time, time] | None, now: datetime) -> int:
    """Records the answer, audits it and queues it to the member; the rows written. Not committed."""
    await decide_leave(session, pending.leave, approval, by=by, note=note)
    record_audit(session=session, action=f"meeting.leave_{approval.value}", actor=actor, actor_person_id=by,
                 org_id=pending.meeting.org_id, meeting_id=pending.meeting.id, person_id=pending.leave.person_id,
                 reason=note or None)
    people = await load_recipients(session=session, person_ids={pending.leave.person_id}, now=now)
    queued = await queue_messages(
        session=session, subject=Subject(SubjectKind.leave, id_of(pending.leave)), recipients=people.values(),
        not_before=not_before(now, quiet, urgent=False).astimezone(UTC), purpose=Purpose.leave_decision,
        body=decision_body(pending, approval, by_name, note, now.tzinfo),
    )
    return queued.rows
