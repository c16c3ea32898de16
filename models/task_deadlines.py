"""Task deadlines: one working day before, everyone who has not reported 完成 gets one reminder; once
the deadline passed, the secretaries of the organisation that issued the task get one list of the
organisations that did not finish (escalation). Safe in every instance and on every tick: each
message is queued once (models/outbox.py). The job that runs it is schedules/task_deadlines.py."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.audit import record_audit
from models.delivery import Delivery, Purpose
from models.notice import Notice, NoticeStatus, Urgency
from models.organisation import Organisation
from models.outbox import queue_messages
from models.person import Role
from models.quiet_hours import not_before
from models.subject import Subject, of_notices
from models.tasks import not_done_yet
from models.typed import col_not_none, id_of
from models.workdays import previous_workday

REMIND_AT = time(9, 0)
# How far ahead a reminder day can lie (the National Day holiday pushes it back by up to ~8 days),
# and how long after its deadline a task is still escalated (a service down for longer skips it).
LOOKAHEAD = timedelta(days=15)
LOOKBACK = timedelta(days=7)
PREVIEW = 20
MAX_LISTED = 20
ACTOR = "schedule:task_deadlines"


def reminder_moment(deadline: datetime, tz: tzinfo) -> datetime:
    """09:00 local time on the working day before the deadline's date (aware)."""
    day = previous_workday(deadline.astimezone(tz).date())
    return datetime.combine(day, REMIND_AT, tzinfo=tz)


def _preview(notice: Notice) -> str:
    text = notice.text.split("\n")[0]
    return text if len(text) <= PREVIEW else text[:PREVIEW] + "…"


def _when(deadline: datetime, tz: tzinfo) -> str:
    local = deadline.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def reminder_body(notice: Notice, tz: tzinfo) -> str:
    assert notice.deadline is not None
    return (f"【任务提醒】第 {notice.id} 号任务“{_preview(notice)}”将于 {_when(notice.deadline, tz)} 截止，"
            f"完成后请回复“完成 {notice.id}”。")


def overdue_body(notice: Notice, overdue: list[str], tz: tzinfo) -> str:
    assert notice.deadline is not None
    listed = "、".join(overdue[:MAX_LISTED]) + (f" 等 {len(overdue)} 个" if len(overdue) > MAX_LISTED else "")
    return (f"【任务逾期】第 {notice.id} 号任务“{_preview(notice)}”已于 {_when(notice.deadline, tz)} 截止，"
            f"以下尚未报告完成：{listed}。请督促，回复“汇总 {notice.id}”查看详情。")


@dataclass(slots=True)
class Written:
    reminders: int = 0
    overdue: int = 0


async def queue_deadline_messages(
    *, session: AsyncSession, zone: tzinfo, quiet: tuple[time, time] | None, now: datetime
) -> Written:
    """The reminders and escalations due at `now` (not committed: the caller's transaction)."""
    now = now.astimezone(UTC)
    return Written(await _remind(session, zone, quiet, now), await _escalate(session, zone, quiet, now))


def _due_at(notice: Notice, zone: tzinfo, quiet: tuple[time, time] | None, now: datetime) -> datetime:
    return not_before(now.astimezone(zone), quiet, urgent=notice.urgency == Urgency.urgent).astimezone(UTC)


async def _tasks(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[Notice]:
    query = select(Notice).where(Notice.status == NoticeStatus.confirmed, col(Notice.deadline).is_not(None),
                                 *conditions)
    return list(await session.exec(query.order_by(col(Notice.id))))


async def _remind(session: AsyncSession, zone: tzinfo, quiet: tuple[time, time] | None, now: datetime) -> int:
    """A task confirmed after its reminder moment is not reminded: it has just arrived, deadline and all."""
    due = []
    for notice in await _tasks(session, col(Notice.deadline) > now, col(Notice.deadline) <= now + LOOKAHEAD):
        assert notice.deadline is not None
        moment = reminder_moment(notice.deadline, zone)
        if moment <= now and (notice.confirmed_at is None or notice.confirmed_at < moment):
            due.append(notice)
    if not due:
        return 0
    by_id = {id_of(n): n for n in due}
    pending = set(await session.exec(
        select(Delivery.subject_id, Delivery.person_id, Delivery.org_id).where(*not_done_yet(by_id))
    ))
    if not pending:
        return 0
    addressed: dict[tuple[int, int], int | None] = {}
    for notice_id, person_id, org_id in sorted(pending, key=lambda r: (r[0], r[1], r[2] is None)):
        addressed.setdefault((notice_id, person_id), org_id)
    people = await load_recipients(session=session, person_ids={p for _n, p in addressed}, now=now)
    written = 0
    for notice in due:
        mine = {p: org_id for (notice_id, p), org_id in addressed.items() if notice_id == notice.id}
        queued = await queue_messages(
            session=session, subject=Subject.notice(notice.id), recipients=[people[p] for p in mine if p in people],
            not_before=_due_at(notice, zone, quiet, now), purpose=Purpose.deadline_reminder,
            body=reminder_body(notice, zone), org_of=mine,
        )
        count = queued.rows
        if count:
            record_audit(session=session, action="task.deadline_reminder", actor=ACTOR, org_id=notice.org_id,
                         notice_id=notice.id, recipients=count)
        written += count
    return written


async def _escalate(session: AsyncSession, zone: tzinfo, quiet: tuple[time, time] | None, now: datetime) -> int:
    """Per task past its deadline: the organisations it was addressed to whose people have not reported
    完成 go, with their secretaries' names, to the secretaries of the issuing organisation."""
    tasks = {
        id_of(n): n for n in await _tasks(session, col(Notice.deadline) <= now, col(Notice.deadline) > now - LOOKBACK)
    }
    if not tasks:
        return 0
    rows = list(await session.exec(
        select(Delivery.subject_id, col_not_none(Delivery.org_id), Delivery.person_id).where(
            of_notices(Delivery, tasks), Delivery.purpose == Purpose.notice, col(Delivery.org_id).is_not(None),
        )
    ))
    open_rows = set(await session.exec(
        select(Delivery.subject_id, Delivery.org_id, Delivery.person_id).where(
            *not_done_yet(tasks), col(Delivery.org_id).is_not(None)
        )
    ))
    # An organisation is done when any of the people it was addressed through reported 完成.
    addressed: dict[tuple[int, int], set[int]] = defaultdict(set)
    for notice_id, org_id, person_id in rows:
        addressed[(notice_id, org_id)].add(person_id)
    overdue: dict[int, list[tuple[int, set[int]]]] = defaultdict(list)
    for (notice_id, org_id), people_ids in addressed.items():
        if all((notice_id, org_id, p) in open_rows for p in people_ids):
            overdue[notice_id].append((org_id, people_ids))
    if not overdue:
        return 0
    org_ids = {o for items in overdue.values() for o, _ in items} | {tasks[n].org_id for n in overdue}
    orgs = {o.id: o for o in await session.exec(select(Organisation).where(col(Organisation.id).in_(org_ids)))}
    issuers = {tasks[n].org_id for n in overdue}
    secretaries: dict[int, list[int]] = defaultdict(list)
    for person_id, org_id in await session.exec(
        select(Role.person_id, Role.org_id).where(col(Role.org_id).in_(issuers)).order_by(col(Role.id))
    ):
        if person_id not in secretaries[org_id]:
            secretaries[org_id].append(person_id)
    listed_people = {p for items in overdue.values() for _o, ids in items for p in ids}
    escalated_to = {p for n in overdue for p in secretaries.get(tasks[n].org_id) or [tasks[n].author_person_id]}
    people = await load_recipients(session=session, person_ids=listed_people | escalated_to, now=now)
    written = 0
    for notice_id, items in sorted(overdue.items()):
        notice = tasks[notice_id]
        items.sort(key=lambda item: orgs[item[0]].path)
        listed = [f"{orgs[o].name}（{'、'.join(sorted(people[p].name for p in ids))}）" for o, ids in items]
        body = overdue_body(notice, listed, zone)
        # The issuing organisation's secretaries; the author when it has none (left, or not yet appointed).
        targets = secretaries.get(notice.org_id) or [notice.author_person_id]
        queued = await queue_messages(
            session=session, subject=Subject.notice(notice.id), recipients=[people[p] for p in targets if p in people],
            not_before=_due_at(notice, zone, quiet, now), purpose=Purpose.overdue, body=body,
            org_of=dict.fromkeys(targets, notice.org_id),
        )
        count = queued.rows
        if count:
            record_audit(session=session, action="task.overdue", actor=ACTOR, org_id=notice.org_id,
                         notice_id=notice.id, orgs=[o for o, _ in items], recipients=count)
        written += count
    return written
