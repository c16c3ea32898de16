"""The daily look at organisational life, each finding an outbox row written once (the message key
carries the period or the streak, so every instance and every rerun writes it once):
- five working days before a month, quarter or year ends, the secretaries of branches and groups with
  an obligation not yet met for it are reminded (models/obligations.py);
- 静默支部: a branch with no meeting held for 30 days is flagged to its own and its parent's secretaries;
- a member who missed three held meetings in a row without leave, and one with no organisational
  life for 3 and for 5 months (the Party Constitution's six-month rule), are reported to their
  branch's secretary."""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.delivery import Purpose
from models.engagement import Engagement, EngagementKind
from models.meeting import KIND_NAMES, Meeting, MeetingKind, MeetingStatus, attendee_ids
from models.meeting_dates import Every
from models.meeting_record import MeetingRecord
from models.obligations import MONTHS, Obligation, compliance, period_of
from models.organisation import Organisation, OrgLevel
from models.outbox import queue_messages
from models.person import Membership, Person, PersonKind
from models.quiet_hours import not_before
from models.role_holders import nearest_holders
from models.subject import Subject, SubjectKind
from models.typed import id_of
from models.workdays import WorkCalendar

REMIND_WORKDAYS = 5
SILENT_AFTER = timedelta(days=30)
MISSED_IN_A_ROW = 3
INACTIVE_MONTHS = (3, 5)
LOOKBACK = timedelta(days=200)  # the six-month rule's span, and a little more


def remind_from(period_end: date, calendar: WorkCalendar) -> date:
    """The day five working days before the period's end: the 5th working day counted back from its
    last day (the last day itself counts when it is a working day)."""
    day, counted = period_end - timedelta(days=1), 0
    while True:
        if calendar.is_workday(day):
            counted += 1
            if counted == REMIND_WORKDAYS:
                return day
        day -= timedelta(days=1)


async def _send(session: AsyncSession, *, subject: Subject, people: list[int], purpose: Purpose, round_: int,
                body: str, now: datetime, quiet: tuple[time, time] | None) -> int:
    reach = await load_recipients(session=session, person_ids=people, now=now)
    queued = await queue_messages(session=session, subject=subject, recipients=reach.values(),
                                  not_before=not_before(now, quiet, urgent=False).astimezone(UTC), purpose=purpose,
                                  round=round_, body=body)
    return queued.rows


async def _roots(session: AsyncSession) -> list[Organisation]:
    return list((await session.exec(select(Organisation).where(col(Organisation.parent_id).is_(None)))).all())


async def remind_period_gaps(*, session: AsyncSession, obligations: list[Obligation], calendar: WorkCalendar,
                             now: datetime, quiet: tuple[time, time] | None) -> int:
    """Within the last five working days of a month, quarter or year: one reminder per organisation
    (and period) still short of an obligation of that period, to its secretaries."""
    today = now.date()
    written = 0
    for every in (Every.month, Every.quarter, Every.year):
        period = period_of(today, every)
        wanted = [o for o in obligations if o.every == every]
        if not wanted or today < remind_from(period.end, calendar):
            continue
        round_ = period.start.year * 10000 + period.start.month * 100 + MONTHS[every]
        for root in await _roots(session):
            result = await compliance(session=session, root=root, period=period, obligations=wanted, today=today)
            short = [(item.org, [s for s in item.obligations if s.held < s.required]) for item in result.organisations]
            short = [(org, states) for org, states in short if states]
            holders = await nearest_holders(session, {org.path for org, _s in short}, own=True)
            last_day = period.end - timedelta(days=1)
            for org, states in short:
                _where, people = holders[org.path]
                if not people:
                    continue
                items = "、".join(f"{KIND_NAMES[s.obligation.kind]}（{s.held}/{s.required}）" for s in states)
                body = (f"【三会一课提醒】{org.name}{period.name()}还需召开：{items}。"
                        f"本期到 {last_day.month}月{last_day.day}日 结束，请及时召开，"
                        "会后回复“已召开 编号 纪要 …”记录。")
                written += await _send(session, subject=Subject(SubjectKind.organisation, id_of(org)), people=people,
                                       purpose=Purpose.period_gap, round_=round_, body=body, now=now, quiet=quiet)
    return written


async def _last_held(session: AsyncSession, branch_ids: list[int]) -> dict[int, datetime]:
    """Each branch's latest held meeting (its groups' 党小组会 included)."""
    branches = set(branch_ids)
    group_of = dict((await session.exec(select(Organisation.id, Organisation.parent_id).where(
        col(Organisation.parent_id).in_(branch_ids), Organisation.level == OrgLevel.group))).all())
    found: dict[int, datetime] = {}
    rows = await session.exec(
        select(Meeting.org_id, Meeting.group_org_id, MeetingRecord.held_at)
        .join(MeetingRecord, col(MeetingRecord.meeting_id) == Meeting.id)
        .where(or_(col(Meeting.org_id).in_(branch_ids | group_of.keys()),
                   col(Meeting.group_org_id).in_(list(group_of)))))
    for org_id, group_id, held_at in rows.all():
        branch = org_id if org_id in branches else group_of.get(group_id or org_id)
        if branch is not None and (branch not in found or held_at > found[branch]):
            found[branch] = held_at
    return found


async def flag_silent_branches(*, session: AsyncSession, now: datetime, quiet: tuple[time, time] | None) -> int:
    """静默支部: no meeting held for 30 days (or none at all) → its own and its parent's secretaries."""
    branches = list((await session.exec(select(Organisation).where(Organisation.level == OrgLevel.branch))).all())
    if not branches:
        return 0
    last = await _last_held(session, [id_of(b) for b in branches])
    silent = [b for b in branches if id_of(b) not in last or now - last[id_of(b)] >= SILENT_AFTER]
    own = await nearest_holders(session, {b.path for b in silent}, own=True)
    above = await nearest_holders(session, {b.path for b in silent}, own=False)
    written = 0
    for branch in silent:
        held = last.get(id_of(branch))
        since = (f"已 {(now - held).days} 天没有召开会议（上次 {held.astimezone(now.tzinfo):%Y年%m月%d日}）"
                 if held else "还没有记录过已召开的会议")
        body = (f"【静默支部提醒】{branch.name}{since}。请尽快组织开展组织生活，会后回复“已召开 编号 纪要 …”记录。")
        people = list(dict.fromkeys(own[branch.path][1] + above[branch.path][1]))
        round_ = held.astimezone(UTC).date().toordinal() if held else 0  # one flag per silent spell
        written += await _send(session, subject=Subject(SubjectKind.organisation, id_of(branch)), people=people,
                               purpose=Purpose.silent_branch, round_=round_, body=body, now=now, quiet=quiet)
    return written


async def warn_about_members(*, session: AsyncSession, now: datetime, quiet: tuple[time, time] | None) -> int:
    """Three held meetings in a row missed without leave; no organisational life for 3 / 5 months."""
    since = now - LOOKBACK
    held = list((await session.exec(
        select(Meeting, MeetingRecord).join(MeetingRecord, col(MeetingRecord.meeting_id) == Meeting.id)
        .where(Meeting.status == MeetingStatus.held.value, col(MeetingRecord.held_at) > since.astimezone(UTC))
        .order_by(col(MeetingRecord.held_at)))).all())
    orgs = {o.id: o for o in (await session.exec(select(Organisation).where(col(Organisation.id).in_(
        {m.org_id for m, _r in held} | {m.group_org_id for m, _r in held if m.group_org_id})))).all()}
    answers: dict[tuple[int, int], set[str]] = defaultdict(set)
    if held:
        for meeting_id, person_id, kind, approval in (await session.exec(
            select(col(Engagement.subject_id), col(Engagement.person_id), col(Engagement.kind),
                   col(Engagement.approval))
            .where(col(Engagement.subject_kind) == SubjectKind.meeting.value,
                   col(Engagement.subject_id).in_([id_of(m) for m, _r in held])))).all():
            if kind == EngagementKind.leave and approval == "refused":
                continue  # a refused leave does not excuse
            answers[(meeting_id, person_id)].add(str(kind))
    history: dict[int, list[tuple[Meeting, bool, bool]]] = defaultdict(list)  # person → (meeting, present, excused)
    for meeting, _record in held:
        org = orgs[meeting.org_id]
        group = orgs.get(meeting.group_org_id) if meeting.group_org_id else None
        for person_id in await attendee_ids(session=session, kind=MeetingKind(meeting.kind), org=org, group=group):
            given = answers.get((id_of(meeting), person_id), set())
            history[person_id].append((meeting, "signed_in" in given, "leave" in given))
    members: dict[int, str] = {pid: name for pid, name in (await session.exec(
        select(col(Person.id), Person.name).where(col(Person.id).in_(list(history)),
                                                  Person.kind == PersonKind.member))).all() if pid}
    primaries = dict((await session.exec(select(Membership.person_id, Organisation.path).join(
        Organisation, col(Organisation.id) == Membership.org_id).where(
        col(Membership.person_id).in_(list(members)), col(Membership.is_primary)))).all())
    holders = await nearest_holders(session, set(primaries.values()), own=True)
    written = 0
    for person_id, name in members.items():
        path = primaries.get(person_id)
        if path is None:
            continue
        people = [p for p in holders[path][1] if p != person_id]
        if not people:
            continue
        subject = Subject(SubjectKind.person, person_id)
        runs = history[person_id]
        last_three = runs[-MISSED_IN_A_ROW:]
        if len(last_three) == MISSED_IN_A_ROW and not any(present or excused for _m, present, excused in last_three):
            third = last_three[-1][0]
            body = (f"【缺席提醒】党员 {name} 已连续 {MISSED_IN_A_ROW} 次未请假缺席组织生活"
                    f"（最近一次：第 {third.id} 号会议）。请及时谈心谈话，了解情况。")
            written += await _send(session, subject=subject, people=people, purpose=Purpose.member_missed,
                                   round_=id_of(third), body=body, now=now, quiet=quiet)
        attended = [m.starts_at for m, present, _e in runs if present]
        last_seen = max(attended) if attended else None
        for months in INACTIVE_MONTHS:
            limit = timedelta(days=30 * months)
            if last_seen is not None and now - last_seen < limit:
                continue
            if last_seen is None and now - runs[0][0].starts_at < limit:
                continue  # not invited to anything that long ago: too early to tell
            seen = f"上次参加：{last_seen.astimezone(now.tzinfo):%Y年%m月%d日}" if last_seen else "近期没有参加记录"
            body = (f"【组织生活预警】党员 {name} 已超过 {months} 个月未参加组织生活（{seen}）。"
                    "按党章规定，连续六个月不参加党的组织生活将被视为自行脱党，请及时联系。")
            day = last_seen.astimezone(UTC).date().toordinal() if last_seen else 0
            written += await _send(session, subject=subject, people=people, purpose=Purpose.member_inactive,
                                   round_=months * 1_000_000 + day, body=body, now=now, quiet=quiet)
    return written
