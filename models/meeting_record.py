"""已召开: the record of a meeting as held — host, recorder, minutes and the attendance as it stood
when it was recorded (应到 / 实到 / 请假 / 缺席 with names). Only meetings recorded as held count for
the obligations (三会一课), so a record is refused before the start (an early record) and more than
RECORD_WITHIN after the end (a back-dated one), and both refusals are audited."""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_audit
from models.clock import utcnow
from models.meeting import Attendance, Meeting, MeetingKind, MeetingStatus, ends_at
from models.typed import id_of

NAME_LIMIT = 50
MINUTES_LIMIT = 5000
RECORD_WITHIN = timedelta(days=30)
NAMES_SEPARATOR = "、"


class MeetingRecord(SQLModel, table=True):
    __tablename__ = "meeting_record"
    # The roll-up of a city's obligations counts records by month, owner and kind from this index alone.
    __table_args__ = (Index("ix_meeting_record_month", "held_month", "owner_org_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    held_at: datetime  # the meeting's start (it was held as scheduled)
    held_month: int  # its local year and month, 202612: what the obligations count by
    # Whose obligation it meets: a 党小组会's group, else the organiser; and the meeting's kind.
    owner_org_id: int = Field(foreign_key="organisation.id")
    kind: str = Field(max_length=20)
    host: str = Field(max_length=NAME_LIMIT)  # 主持人
    recorder: str = Field(max_length=NAME_LIMIT)  # 记录人
    minutes: str = Field(default="", sa_type=Text)  # 会议纪要
    invited: int = 0  # 应到
    present: int = 0  # 实到 (signed in, by scan, code or 补签)
    on_leave: int = 0  # 请假 (not refused)
    absent: int = 0  # 缺席
    present_names: str = Field(default="", sa_type=Text)
    leave_names: str = Field(default="", sa_type=Text)
    absent_names: str = Field(default="", sa_type=Text)
    recorded_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    recorded_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class RecordRefused:
    reason: str


def month_of(moment: datetime, tz: tzinfo | None) -> int:
    local = moment.astimezone(tz)
    return local.year * 100 + local.month


def owner_of(meeting: Meeting) -> int:
    """The organisation whose obligation the meeting meets: a 党小组会's group, else its organiser."""
    if MeetingKind(meeting.kind) == MeetingKind.group and meeting.group_org_id is not None:
        return meeting.group_org_id
    return meeting.org_id


def _names(attendance: Attendance, *states: str) -> list[str]:
    return [p.name for p in attendance.people if p.status in states]


async def record_held(*, session: AsyncSession, meeting: Meeting, attendance: Attendance, host: str, recorder: str,
                      minutes: str, by: int | None, actor: str, now: datetime) -> MeetingRecord | RecordRefused:
    """Records the meeting as held with the attendance as it stands (those not signed in and not on
    leave are absent), or refuses (audited). Not committed."""
    refusal = None
    if meeting.status == MeetingStatus.cancelled:
        refusal = "已取消的会议不能记录为已召开。"
    elif meeting.status == MeetingStatus.held:
        refusal = f"第 {meeting.id} 号会议已记录为已召开。"
    elif now < meeting.starts_at:
        refusal = "会议还没开始，不能提前记录为已召开。"
    elif now > ends_at(meeting) + RECORD_WITHIN:
        refusal = f"会议已结束超过 {RECORD_WITHIN.days} 天，不能补记为已召开；如确需补录，请联系上级党组织。"
    if refusal is not None:
        record_audit(session=session, action="meeting.record_refused", actor=actor, actor_person_id=by,
                     org_id=meeting.org_id, meeting_id=meeting.id, reason=refusal)
        return RecordRefused(refusal)
    present = _names(attendance, "signed_in")
    leave = _names(attendance, "leave")
    absent = _names(attendance, "attending", "no_reply", "absent")
    record = MeetingRecord(
        meeting_id=id_of(meeting), held_at=meeting.starts_at, held_month=month_of(meeting.starts_at, now.tzinfo),
        owner_org_id=owner_of(meeting), kind=str(meeting.kind), host=host[:NAME_LIMIT], recorder=recorder[:NAME_LIMIT],
        minutes=minutes[:MINUTES_LIMIT], invited=len(attendance.people), present=len(present), on_leave=len(leave),
        absent=len(absent), present_names=NAMES_SEPARATOR.join(present), leave_names=NAMES_SEPARATOR.join(leave),
        absent_names=NAMES_SEPARATOR.join(absent), recorded_by_person_id=by, recorded_at=now)
    meeting.status = MeetingStatus.held
    session.add_all([record, meeting])
    record_audit(session=session, action="meeting.held", actor=actor, actor_person_id=by, org_id=meeting.org_id,
                 meeting_id=meeting.id, present=len(present), on_leave=len(leave), absent=len(absent))
    await session.flush()
    return record


async def record_of(session: AsyncSession, meeting_id: int) -> MeetingRecord | None:
    return (await session.exec(select(MeetingRecord).where(MeetingRecord.meeting_id == meeting_id))).first()


async def held_meetings(*, session: AsyncSession, org_id: int, since: datetime, until: datetime
                        ) -> list[tuple[Meeting, MeetingRecord]]:
    """The meetings the organisation held in [since, until), with their records, in order."""
    rows = await session.exec(
        select(Meeting, MeetingRecord).join(MeetingRecord, col(MeetingRecord.meeting_id) == Meeting.id)
        .where(Meeting.org_id == org_id, col(MeetingRecord.held_at) >= since, col(MeetingRecord.held_at) < until)
        .order_by(col(MeetingRecord.held_at), col(Meeting.id)))
    return [(m, r) for m, r in rows.all()]


def names(text: str) -> list[str]:
    return [n for n in text.split(NAMES_SEPARATOR) if n]
