"""Meetings of 三会一课 and 主题党日: one row per meeting, a series row for those that repeat (its rule
and holiday policy; models/meeting_dates.py places its dates). Who is invited follows the kind: a
支委会 the organisation's committee (the roles on it), a 党小组会 the group, every other kind the
organisation's members — those whose primary organisation it is or is below it, and those who take part
there without it being their primary one (一方隶属、参加多重组织生活)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.clock import utcnow
from models.engagement import Approval, Engagement, EngagementKind, answers_about
from models.meeting_dates import Every, HolidayPolicy, PlacedDate, Repeat, plan_series
from models.message_frame import when_words
from models.organisation import Organisation
from models.person import Membership, Person, PersonKind, Role
from models.subject import Subject, SubjectKind
from models.typed import id_of
from models.workdays import WorkCalendar

TITLE_LIMIT = 100
PLACE_LIMIT = 100
TOPIC_LIMIT = 500


class MeetingKind(StrEnum):
    assembly = "assembly"  # 支部党员大会
    committee = "committee"  # 支委会
    group = "group"  # 党小组会
    lecture = "lecture"  # 党课
    party_day = "party_day"  # 主题党日
    life = "life"  # 组织生活会
    appraisal = "appraisal"  # 民主评议党员
    other = "other"  # 其他


KIND_NAMES = {
    MeetingKind.assembly: "支部党员大会", MeetingKind.committee: "支委会", MeetingKind.group: "党小组会",
    MeetingKind.lecture: "党课", MeetingKind.party_day: "主题党日", MeetingKind.life: "组织生活会",
    MeetingKind.appraisal: "民主评议党员", MeetingKind.other: "其他",
}
# What secretaries write for each kind, longest first when matched as a prefix.
KIND_WORDS = {
    **{name: kind for kind, name in KIND_NAMES.items()},
    "党员大会": MeetingKind.assembly, "支部大会": MeetingKind.assembly, "支委会议": MeetingKind.committee,
    "支部委员会": MeetingKind.committee, "小组会": MeetingKind.group, "党小组": MeetingKind.group,
    "上党课": MeetingKind.lecture, "党日": MeetingKind.party_day, "党日活动": MeetingKind.party_day,
    "主题党日活动": MeetingKind.party_day, "民主评议": MeetingKind.appraisal, "评议党员": MeetingKind.appraisal,
    "组织生活": MeetingKind.life,
}


def kind_of(word: str) -> MeetingKind | None:
    """The kind a secretary named (支委会, 党小组会, 主题党日, 党日…), or an API's own name (committee)."""
    word = word.strip()
    try:
        return MeetingKind(word)
    except ValueError:
        return KIND_WORDS.get(word)


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    held = "held"  # recorded as held (已召开): only these count for the obligations


class MeetingSeries(SQLModel, table=True):
    __tablename__ = "meeting_series"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: MeetingKind = Field(sa_type=String(20))
    every: Every = Field(sa_type=String(10))
    day: int | None = None
    weekday: int | None = None  # 1 = Monday … 7 = Sunday
    nth: int | None = None  # 1–4, -1: the last
    until: date | None = None
    holiday_policy: HolidayPolicy = Field(default=HolidayPolicy.next_workday, sa_type=String(20))
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def repeat(self) -> Repeat:
        # The enum columns are strings in the database (read back as str).
        return Repeat(Every(self.every), self.day, self.weekday, self.nth, self.until)


class Meeting(SQLModel, table=True):
    # The reminder tick reads the scheduled meetings of the next days out of a city's years of meetings.
    __table_args__ = (Index("ix_meeting_org_starts", "org_id", "starts_at"),
                      Index("ix_meeting_status_starts", "status", "starts_at"))
    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="meeting_series.id", index=True)
    org_id: int = Field(foreign_key="organisation.id")  # the organiser
    group_org_id: int | None = Field(default=None, foreign_key="organisation.id")  # a 党小组会's group
    kind: MeetingKind = Field(sa_type=String(20))
    title: str = Field(max_length=TITLE_LIMIT)
    topic: str = Field(default="", max_length=TOPIC_LIMIT)  # 议题
    starts_at: datetime  # aware, stored in UTC
    minutes: int = 90
    place: str = Field(default="", max_length=PLACE_LIMIT)
    moved_from: date | None = None  # the series' own date, when a statutory holiday moved it
    holiday: str = Field(default="", max_length=20)  # that holiday (or the one it is held on, kept)
    status: MeetingStatus = Field(default=MeetingStatus.scheduled, sa_type=String(20))
    # Bumped when the meeting is rescheduled: its reminders' rounds carry it (models/meeting_reminders.py),
    # so the new time gets reminders of its own and those of the old time are dropped.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The reminder rounds of this version already queued, a bit each (models/meeting_reminders.py).
    reminded: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


def _invited(kind: MeetingKind, org: Organisation, group: Organisation | None) -> Any:
    """The ids of the members invited to a meeting of `kind` organised by `org` (a 党小组会: by
    `group`, or by `org` when it is itself a group), as a query."""
    if kind == MeetingKind.committee:
        query = select(col(Role.person_id)).where(Role.org_id == org.id)
    else:
        where = group if group is not None else org
        # A member of a group below the branch is a member of the branch too; one who only takes part
        # in `where` is invited to it, not to what lies below it.
        below = select(col(Organisation.id)).where(col(Organisation.path).startswith(where.path))
        query = select(col(Membership.person_id)).where(
            (col(Membership.org_id).in_(below) & col(Membership.is_primary)) | (Membership.org_id == where.id))
    return select(col(Person.id)).where(col(Person.id).in_(query), Person.kind == PersonKind.member)


async def attendee_ids(*, session: AsyncSession, kind: MeetingKind, org: Organisation,
                       group: Organisation | None = None) -> list[int]:
    """The members invited to the meeting, in id order."""
    members = _invited(kind, org, group).order_by(col(Person.id))
    return [i for i in (await session.exec(members)).all() if i is not None]


async def is_invited(*, session: AsyncSession, meeting: Meeting, person_id: int) -> bool:
    """Whether the person is among the meeting's invited (one look-up, not the whole list: a street's
    meeting invites thousands)."""
    org = await session.get(Organisation, meeting.org_id)
    group = await session.get(Organisation, meeting.group_org_id) if meeting.group_org_id else None
    assert org is not None
    query = _invited(MeetingKind(meeting.kind), org, group).where(col(Person.id) == person_id)
    return (await session.exec(query)).first() is not None


@dataclass(frozen=True, slots=True)
class MeetingPlan:
    """What creating the meeting (or series) will do, for the preview and `dry_run`."""

    kind: MeetingKind
    org: Organisation
    group: Organisation | None
    title: str
    topic: str
    at: time  # local time of day
    tz: tzinfo
    minutes: int
    place: str
    repeat: Repeat | None
    policy: HolidayPolicy
    dates: list[PlacedDate]
    attendees: list[int]

    def starts(self, placed: PlacedDate) -> datetime:
        return datetime.combine(placed.day, self.at, tzinfo=self.tz)


async def plan_meetings(*, session: AsyncSession, kind: MeetingKind, org: Organisation, title: str,
                        starts_at: datetime, minutes: int, place: str, topic: str = "",
                        group: Organisation | None = None, repeat: Repeat | None = None,
                        policy: HolidayPolicy = HolidayPolicy.next_workday,
                        work_calendar: WorkCalendar) -> MeetingPlan:
    """`starts_at` is aware: its date is the first meeting's (or the series' first date on or after
    it), its time of day every meeting's."""
    tz = starts_at.tzinfo
    assert tz is not None, "starts_at must carry its offset"
    dates = plan_series(starts_at.date(), repeat, policy, work_calendar)
    attendees = await attendee_ids(session=session, kind=kind, org=org, group=group)
    return MeetingPlan(kind, org, group, title, topic, starts_at.timetz().replace(tzinfo=None), tz, minutes, place,
                       repeat, policy, dates, attendees)


async def create_meetings(*, session: AsyncSession, plan: MeetingPlan,
                          author_person_id: int | None) -> list[Meeting]:
    """The meetings of the plan (and their series), flushed; the caller commits."""
    series = None
    if plan.repeat is not None:
        r = plan.repeat
        series = MeetingSeries(org_id=id_of(plan.org), kind=plan.kind, every=r.every, day=r.day, weekday=r.weekday,
                               nth=r.nth, until=r.until, holiday_policy=plan.policy,
                               created_by_person_id=author_person_id)
        session.add(series)
        await session.flush()
    meetings = [
        Meeting(series_id=series.id if series else None, org_id=id_of(plan.org),
                group_org_id=plan.group.id if plan.group else None, kind=plan.kind, title=plan.title[:TITLE_LIMIT],
                topic=plan.topic[:TOPIC_LIMIT], starts_at=plan.starts(p).astimezone(UTC), minutes=plan.minutes,
                place=plan.place[:PLACE_LIMIT], moved_from=p.moved_from, holiday=p.holiday or "",
                created_by_person_id=author_person_id)
        for p in plan.dates
    ]
    session.add_all(meetings)
    await session.flush()
    return meetings


def ends_at(meeting: Meeting) -> datetime:
    return meeting.starts_at + timedelta(minutes=meeting.minutes)


def title_of(meeting: Meeting) -> str:
    """The meeting's title, or its kind's name when it has none of its own."""
    kind = KIND_NAMES[MeetingKind(meeting.kind)]
    return meeting.title if meeting.title and meeting.title != kind else kind


def describe(meeting: Meeting, tz: tzinfo | None) -> str:
    """12月15日（周二）19:30 主题党日，党群服务中心."""
    place = f"，{meeting.place}" if meeting.place else ""
    return f"{when_words(meeting.starts_at, tz)} {title_of(meeting)}{place}"


ATTENDANCE_STATES = ("attending", "leave", "signed_in", "no_reply", "absent")


@dataclass(frozen=True, slots=True)
class AttendeeState:
    person_id: int
    name: str
    status: str  # one of ATTENDANCE_STATES
    reason: str | None = None  # a leave's reason
    signed_in_at: datetime | None = None
    # A leave asked for: "pending", "approved" or "refused". A refused leave does not excuse: the
    # member counts as not replied (absent once the meeting is over) unless they sign in.
    leave: str | None = None
    made_up_at: datetime | None = None  # 已补课, after missing the meeting


@dataclass(frozen=True, slots=True)
class Attendance:
    people: list[AttendeeState]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ATTENDANCE_STATES, 0)
        for p in self.people:
            counts[p.status] += 1
        return {"invited": len(self.people), **counts}


async def attendance_of(*, session: AsyncSession, meeting: Meeting, org: Organisation, now: datetime) -> Attendance:
    """Each invited member's state, from their answers to the meeting (engagements about it): signed
    in, on leave (with the reason; not refused by the secretary), attending; without an answer, no
    reply yet — absent once the meeting is over."""
    group = await session.get(Organisation, meeting.group_org_id) if meeting.group_org_id else None
    ids = await attendee_ids(session=session, kind=MeetingKind(meeting.kind), org=org, group=group)
    names = dict((await session.exec(select(col(Person.id), col(Person.name)).where(col(Person.id).in_(ids)))).all())
    answers: dict[int, dict[str, Engagement]] = {}
    for answer in await answers_about(session, Subject(SubjectKind.meeting, id_of(meeting))):
        answers.setdefault(answer.person_id, {})[str(answer.kind)] = answer
    over = now >= ends_at(meeting)
    people = []
    for i in ids:
        given = answers.get(i, {})
        made_up = given.get(EngagementKind.made_up.value)
        made_up_at = made_up.at if made_up is not None else None
        leave = given.get(EngagementKind.leave.value)
        asked = None if leave is None else str(leave.approval or "pending")
        reason = leave.note or None if leave is not None else None
        if (signed := given.get(EngagementKind.signed_in.value)) is not None:
            people.append(AttendeeState(i, names.get(i, ""), "signed_in", signed_in_at=signed.at))
        elif leave is not None and leave.approval != Approval.refused:
            people.append(AttendeeState(i, names.get(i, ""), "leave", reason=reason, leave=asked,
                                        made_up_at=made_up_at))
        elif EngagementKind.attending.value in given and not over:
            people.append(AttendeeState(i, names.get(i, ""), "attending"))
        else:
            people.append(AttendeeState(i, names.get(i, ""), "absent" if over else "no_reply", reason=reason,
                                        leave=asked, made_up_at=made_up_at))
    return Attendance(people)


# A member answers the meetings they are invited to that have not ended and start within this time.
ANSWER_AHEAD = timedelta(days=60)


async def candidate_meetings(*, session: AsyncSession, person_id: int) -> SelectOfScalar[Meeting] | None:
    """The meetings the person may be invited to, as a query to narrow further (None: they belong
    nowhere): those of their organisations, the ones above their primary one and those they take part
    in or hold a role on. Whether they are invited is `is_invited`'s to say."""
    memberships = (await session.exec(select(Membership).where(Membership.person_id == person_id))).all()
    role_orgs = set((await session.exec(select(col(Role.org_id)).where(Role.person_id == person_id))).all())
    org_ids = {m.org_id for m in memberships} | role_orgs
    if not org_ids:
        return None
    orgs = {o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(org_ids))))}
    # The primary organisation's ancestors (a branch's meetings for a member of one of its groups).
    ancestors = {code for m in memberships if m.is_primary and m.org_id in orgs
                 for code in orgs[m.org_id].path.strip("/").split("/")}
    above = set((await session.exec(select(col(Organisation.id)).where(col(Organisation.code).in_(ancestors)))).all())
    return select(Meeting).where(col(Meeting.org_id).in_(org_ids | above) | col(Meeting.group_org_id).in_(org_ids))


async def open_meetings_for(*, session: AsyncSession, person_id: int, now: datetime) -> list[Meeting]:
    """The scheduled meetings the person is invited to that have not ended and start within
    ANSWER_AHEAD, soonest first."""
    query = await candidate_meetings(session=session, person_id=person_id)
    if query is None:
        return []
    candidates = (await session.exec(
        query.where(Meeting.status == MeetingStatus.scheduled.value,
                    col(Meeting.starts_at) < now + ANSWER_AHEAD,
                    col(Meeting.starts_at) > now - timedelta(days=1))
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )).all()
    return [m for m in candidates
            if ends_at(m) > now and await is_invited(session=session, meeting=m, person_id=person_id)]


async def find_meeting(*, session: AsyncSession, scope_paths: list[str], meeting_id: int | None,
                       now: datetime) -> tuple[Meeting, Organisation] | None:
    """The meeting numbered `meeting_id` organised within one of the scopes; without a number the
    one nearest now (not cancelled): the next to start, else the last held."""
    if not scope_paths:
        return None
    within = select(Meeting, Organisation).join(Organisation, col(Organisation.id) == Meeting.org_id).where(
        or_(*(col(Organisation.path).startswith(p) for p in scope_paths)))
    if meeting_id is not None:
        found = (await session.exec(within.where(Meeting.id == meeting_id))).first()
        return (found[0], found[1]) if found else None
    live = within.where(Meeting.status != MeetingStatus.cancelled.value)
    upcoming = (await session.exec(live.where(col(Meeting.starts_at) >= now - timedelta(hours=3))
                                   .order_by(col(Meeting.starts_at)).limit(1))).first()
    if upcoming is None:
        upcoming = (await session.exec(live.order_by(col(Meeting.starts_at).desc()).limit(1))).first()
    return (upcoming[0], upcoming[1]) if upcoming else None
