"""The meetings benchmark's city, written with bulk INSERTs (core `insert()` executemany, explicit ids, one
cached statement per table and chunk size: ORM objects for 600,000 meetings would take many minutes).

The tree: a city → `districts` districts → `streets` streets each → `communities` communities each →
branches (5,000 by default), each with 2–3 groups (OrgLevel.group) and `members` members (primary
membership in the branch; the first five sit on its committee, the others are spread over its groups).

History: `months` full months of held meetings ending with the last full month — per branch per month a
支委会 and a 主题党日, per group per month a 党小组会, per branch per quarter a 支部党员大会 and a 党课, per
branch per year a 组织生活会 and a 民主评议党员 — each left out with probability `gap` (so organisations are
behind), as `meeting` rows (status held) and `meeting_record` rows (held_month in local time, owner the
group for a 党小组会 and the branch otherwise, the attendance counts and names).

Reminders (`seed_reminders`): scheduled meetings and their `delivery` rows (purpose meeting_reminder,
every round of the default offsets, 1d@09:00 and 2h, version 0), each meeting's `reminded` bits set for
them: `far` meetings starting in 3–30 days (beyond the tick's horizon) whose rows are pending and not due
(the "100,000 scheduled reminders"), and `near` meetings inside the horizon (models.meeting_reminders.
HORIZON: 60 h with the default offsets) with every round queued (rounds whose time has passed are sent).
No pending row falls due within SAFE_FOR of the seed, so the tick and the dispatcher's claim find nothing
to do for that long.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text
from sqlmodel import SQLModel

from bot.db import create_engine, create_session_factory
from models import Membership, Organisation, OrgLevel, Person, PersonKind
from models.delivery import Channel, Delivery, DeliveryStatus, Purpose
from models.meeting import KIND_NAMES, Meeting, MeetingKind, MeetingStatus
from models.meeting_record import MeetingRecord
from models.meeting_reminders import DEFAULT_OFFSETS, HORIZON, ROUND_SPAN
from models.organisation import child_path
from models.subject import SubjectKind

TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 5000  # rows per executemany
COMMITTEE = 5  # committee members per branch (invited to a 支委会)
SAFE_FOR = timedelta(hours=3)  # no pending reminder falls due this soon after the seed
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅"
TOPICS = {
    MeetingKind.committee: "研究本月支部工作安排，讨论发展党员和党费收缴情况",
    MeetingKind.party_day: "学习贯彻党的二十届四中全会精神，开展志愿服务",
    MeetingKind.group: "学习党章党规，交流思想工作情况",
    MeetingKind.assembly: "通报支部工作，讨论决定重要事项",
    MeetingKind.lecture: "书记讲党课：以学铸魂、以学增智",
    MeetingKind.life: "开展批评与自我批评，查摆问题，明确整改措施",
    MeetingKind.appraisal: "党员自评、互评，支部评定等次",
}
MINUTES_TEXT = ("会议由支部书记主持。首先传达学习了上级党组织有关文件精神，随后与会党员结合自身工作谈体会、"
                "提建议，会议对下一阶段工作作出安排，要求全体党员发挥先锋模范作用。")


@dataclass
class City:
    city_id: int = 0
    street_ids: list[int] = field(default_factory=list)
    branch_ids: list[int] = field(default_factory=list)
    street_of: dict[int, int] = field(default_factory=dict)  # branch -> its street
    groups_of: dict[int, list[int]] = field(default_factory=dict)  # branch -> its groups
    members_of: dict[int, list[int]] = field(default_factory=dict)  # branch -> its members, committee first
    group_members: dict[int, list[int]] = field(default_factory=dict)  # group -> its members
    names: dict[int, str] = field(default_factory=dict)  # person -> name
    organisations: int = 0
    people: int = 0
    meetings: int = 0
    records: int = 0
    skipped: int = 0  # meetings left out (the gaps)
    first_month: int = 0  # 202412
    last_month: int = 0  # 202611
    reminders: dict[str, int] = field(default_factory=dict)


class Ids:
    """Explicit primary keys: a bulk executemany without RETURNING is several times faster. PostgreSQL's
    sequences are moved past them at the end (`fix_sequences`)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    async def take(self, session: Any, table: type[SQLModel], n: int) -> list[int]:
        t = table.__table__  # type: ignore[attr-defined]
        if t.name not in self.next:
            self.next[t.name] = ((await session.execute(select(func.max(t.c.id)))).scalar() or 0) + 1
        first = self.next[t.name]
        self.next[t.name] = first + n
        return list(range(first, first + n))


async def _insert(session: Any, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    t = table.__table__  # type: ignore[attr-defined]
    for i in range(0, len(rows), CHUNK):
        await session.execute(insert(t), rows[i : i + CHUNK])


async def fix_sequences(session: Any, ids: Ids) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in ids.next:
        await session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT coalesce(max(id), 1) FROM {name}))"))


def _month_index(month: int) -> int:
    return month // 100 * 12 + month % 100 - 1


def _month_of_index(index: int) -> int:
    return index // 12 * 100 + index % 12 + 1


def history_months(today: date, months: int) -> list[int]:
    """The `months` full months before `today`'s, oldest first (202412 … 202611)."""
    last = _month_index(today.year * 100 + today.month) - 1
    return [_month_of_index(i) for i in range(last - months + 1, last + 1)]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


async def seed_tree(session: Any, ids: Ids, rng: random.Random, *, districts: int, streets: int, communities: int,
                    branches: int, members: int, city: City) -> None:
    def org(oid: int, code: str, name: str, level: OrgLevel, parent: dict[str, Any] | None) -> dict[str, Any]:
        return {"id": oid, "code": code, "name": name, "level": level, "parent_id": parent["id"] if parent else None,
                "path": f"{parent['path'] if parent else '/'}{code}/", "robot_key": None}

    communities_total = districts * streets * communities
    per_community = [branches // communities_total + (1 if i < branches % communities_total else 0)
                     for i in range(communities_total)]
    rows: list[dict[str, Any]] = []
    (city_id,) = await ids.take(session, Organisation, 1)
    top = org(city_id, "CITY", "示范市", OrgLevel.city, None)
    assert top["path"] == child_path(None, "CITY")
    rows.append(top)
    city.city_id = city_id
    community_index = 0
    branch_rows: list[dict[str, Any]] = []
    for d in range(1, districts + 1):
        (did,) = await ids.take(session, Organisation, 1)
        district = org(did, f"D{d:02d}", f"第{d}区", OrgLevel.district, top)
        rows.append(district)
        for s in range(1, streets + 1):
            (sid,) = await ids.take(session, Organisation, 1)
            street = org(sid, f"D{d:02d}S{s:02d}", f"第{d}区第{s}街道", OrgLevel.street, district)
            rows.append(street)
            city.street_ids.append(sid)
            for c in range(1, communities + 1):
                (cid,) = await ids.take(session, Organisation, 1)
                community = org(cid, f"{street['code']}C{c:02d}", f"{street['name']}第{c}社区", OrgLevel.community,
                                street)
                rows.append(community)
                for b in range(1, per_community[community_index] + 1):
                    (bid,) = await ids.take(session, Organisation, 1)
                    branch = org(bid, f"{community['code']}B{b:02d}", f"{community['name']}第{b}党支部",
                                 OrgLevel.branch, community)
                    branch_rows.append(branch)
                    city.branch_ids.append(bid)
                    city.street_of[bid] = sid
                community_index += 1
    group_rows: list[dict[str, Any]] = []
    for branch in branch_rows:
        n = rng.choice((2, 3))
        gids = await ids.take(session, Organisation, n)
        city.groups_of[branch["id"]] = gids
        for g, gid in enumerate(gids, start=1):
            group_rows.append(org(gid, f"{branch['code']}G{g}", f"第{g}党小组", OrgLevel.group, branch))
    all_orgs = rows + branch_rows + group_rows
    await _insert(session, Organisation, all_orgs)
    city.organisations = len(all_orgs)
    # Members: `members` per branch, primary in the branch; the first COMMITTEE are its committee.
    person_ids = await ids.take(session, Person, members * len(city.branch_ids))
    people, memberships = [], []
    membership_ids = await ids.take(session, Membership, len(person_ids))
    for i, pid in enumerate(person_ids):
        branch_id = city.branch_ids[i // members]
        name = _name(rng)
        city.names[pid] = name
        city.members_of.setdefault(branch_id, []).append(pid)
        people.append({"id": pid, "name": name, "kind": PersonKind.member, "phone": None, "is_mobile": False,
                       "is_in_service": False, "is_retired": False, "report_org_id": None, "unit_id": None,
                       "invite_code": None, "work_userid": None})
        memberships.append({"id": membership_ids[i], "person_id": pid, "org_id": branch_id, "is_primary": True})
    for branch_id, pids in city.members_of.items():
        groups = city.groups_of[branch_id]
        for k, pid in enumerate(pids[COMMITTEE:]):
            city.group_members.setdefault(groups[k % len(groups)], []).append(pid)
        for k, pid in enumerate(pids[:COMMITTEE]):  # committee members belong to a group too
            city.group_members.setdefault(groups[k % len(groups)], []).append(pid)
    await _insert(session, Person, people)
    await _insert(session, Membership, memberships)
    city.people = len(people)


@dataclass(frozen=True, slots=True)
class Planned:
    org_id: int  # the organiser (the branch)
    group_id: int | None
    kind: MeetingKind
    starts: datetime  # aware, local
    invited: list[int]


def _day_in(month: int, rng: random.Random) -> date:
    return date(month // 100, month % 100, rng.randint(1, 28))


def _at(day: date, rng: random.Random) -> datetime:
    hour, minute = rng.choice(((9, 0), (9, 30), (14, 30), (15, 0), (19, 30)))
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def planned_history(city: City, months: list[int], rng: random.Random, gap: float) -> Iterator[Planned | None]:
    """Every meeting of the history in month order (None for one left out: a gap)."""
    quarters: dict[tuple[int, int], list[int]] = {}
    years: dict[int, list[int]] = {}
    for m in months:
        quarters.setdefault((m // 100, (m % 100 - 1) // 3), []).append(m)
        years.setdefault(m // 100, []).append(m)
    # The month of each branch's quarterly and yearly meetings: one of that period's months in the history.
    quarter_month = {(b, k, q): rng.choice(ms) for b in city.branch_ids for q, ms in quarters.items()
                     for k in (MeetingKind.assembly, MeetingKind.lecture)}
    year_month = {(b, k, y): rng.choice(ms) for b in city.branch_ids for y, ms in years.items()
                  for k in (MeetingKind.life, MeetingKind.appraisal)}

    def one(branch: int, group: int | None, kind: MeetingKind, month: int, invited: list[int]) -> Planned | None:
        if rng.random() < gap:
            return None
        return Planned(branch, group, kind, _at(_day_in(month, rng), rng), invited)

    for m in months:
        q, y = (m // 100, (m % 100 - 1) // 3), m // 100
        for b in city.branch_ids:
            members = city.members_of[b]
            yield one(b, None, MeetingKind.committee, m, members[:COMMITTEE])
            yield one(b, None, MeetingKind.party_day, m, members)
            for g in city.groups_of[b]:
                yield one(b, g, MeetingKind.group, m, city.group_members.get(g, []))
            for k in (MeetingKind.assembly, MeetingKind.lecture):
                if quarter_month[(b, k, q)] == m:
                    yield one(b, None, k, m, members)
            for k in (MeetingKind.life, MeetingKind.appraisal):
                if year_month[(b, k, y)] == m:
                    yield one(b, None, k, m, members)


MEETING_COLUMNS = set(Meeting.__table__.c.keys())  # type: ignore[attr-defined]


def _meeting_row(mid: int, p: Planned, status: MeetingStatus, created: datetime, reminded: int = 0) -> dict[str, Any]:
    row = {"id": mid, "series_id": None, "org_id": p.org_id, "group_org_id": p.group_id, "kind": p.kind.value,
           "title": KIND_NAMES[p.kind], "topic": TOPICS[p.kind], "starts_at": p.starts.astimezone(UTC),
           "minutes": 90, "place": "党群服务中心二楼会议室", "moved_from": None, "holiday": "",
           "status": status.value, "created_by_person_id": None, "created_at": created,
           # Version 0 (never rescheduled); the reminder rounds already queued, a bit each.
           "version": 0, "reminded": reminded}
    return {k: v for k, v in row.items() if k in MEETING_COLUMNS}


def _record_row(rid: int, mid: int, p: Planned, rng: random.Random, names: dict[int, str]) -> dict[str, Any]:
    invited = p.invited
    leave = [i for i in invited if rng.random() < 0.08]
    absent = [i for i in invited if i not in leave and rng.random() < 0.05]
    present = [i for i in invited if i not in leave and i not in absent]
    starts = p.starts.astimezone(UTC)
    return {"id": rid, "meeting_id": mid, "held_at": starts, "held_month": p.starts.year * 100 + p.starts.month,
            "owner_org_id": p.group_id if p.kind == MeetingKind.group and p.group_id else p.org_id,
            "kind": p.kind.value, "host": names.get(invited[0], "书记") if invited else "书记",
            "recorder": names.get(invited[-1], "组织委员") if invited else "组织委员", "minutes": MINUTES_TEXT,
            "invited": len(invited), "present": len(present), "on_leave": len(leave), "absent": len(absent),
            "present_names": "、".join(names[i] for i in present), "leave_names": "、".join(names[i] for i in leave),
            "absent_names": "、".join(names[i] for i in absent), "recorded_by_person_id": None,
            "recorded_at": starts + timedelta(hours=2)}


async def seed_history(session: Any, ids: Ids, rng: random.Random, city: City, months: list[int], gap: float,
                       log: Any = None) -> None:
    meetings: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []

    async def flush() -> None:
        await _insert(session, Meeting, meetings)
        await _insert(session, MeetingRecord, records)
        city.meetings += len(meetings)
        city.records += len(records)
        meetings.clear()
        records.clear()

    current = None
    for p in planned_history(city, months, rng, gap):
        if p is None:
            city.skipped += 1
            continue
        (mid,) = await ids.take(session, Meeting, 1)
        (rid,) = await ids.take(session, MeetingRecord, 1)
        meetings.append(_meeting_row(mid, p, MeetingStatus.held, p.starts.astimezone(UTC) - timedelta(days=7)))
        records.append(_record_row(rid, mid, p, rng, city.names))
        if len(meetings) >= 4 * CHUNK:
            await flush()
            month = p.starts.year * 100 + p.starts.month
            if log is not None and month != current:
                current = month
                log(f"  history: {city.meetings:,} meetings written (at {month})")
    await flush()
    city.first_month, city.last_month = months[0], months[-1]


def planned_rounds(starts: datetime) -> list[tuple[int, datetime]]:
    """The reminder rounds as the tick plans them with the default offsets and no quiet hours (the day
    before at 09:00, 2 h before)."""
    return [(i, o.moment(starts)) for i, o in enumerate(DEFAULT_OFFSETS, start=1)]


def _upcoming(city: City, rng: random.Random, n: int, earliest: datetime, latest: datetime, now: datetime,
              offset: int) -> list[Planned]:
    """`n` scheduled meetings between `earliest` and `latest`, in the monthly mix (a 支委会, a 主题党日 and
    the groups' 党小组会 of a branch in turn), none with a round due within SAFE_FOR of `now`."""
    found: list[Planned] = []
    b = offset
    while len(found) < n:
        branch = city.branch_ids[b % len(city.branch_ids)]
        b += 1
        members = city.members_of[branch]
        mix = [(None, MeetingKind.committee, members[:COMMITTEE]), (None, MeetingKind.party_day, members)]
        mix += [(g, MeetingKind.group, city.group_members.get(g, [])) for g in city.groups_of[branch]]
        for group, kind, invited in mix:
            if len(found) >= n:
                break
            while True:
                starts = (earliest + (latest - earliest) * rng.random()).astimezone(TZ).replace(second=0,
                                                                                                 microsecond=0)
                if all(not (now <= at < now + SAFE_FOR) for _r, at in planned_rounds(starts)):
                    break
            found.append(Planned(branch, group, kind, starts, invited))
    return found


def _reminder_body(mid: int, p: Planned) -> str:
    return (f"【会议提醒 · 第{mid}号】{KIND_NAMES[p.kind]}\n"
            f"{KIND_NAMES[p.kind]}：{p.starts:%m月%d日 %H:%M}（约90分钟）\n"
            f"地点：党群服务中心二楼会议室\n议题：{TOPICS[p.kind]}\n"
            f"请回复“参加”或“请假 理由”（有多个会议时加编号，如“参加 {mid}”）。")


async def seed_reminders(session: Any, ids: Ids, rng: random.Random, city: City, *, far: int, near: int,
                         now: datetime) -> None:
    """`far` meetings in 3–30 days (beyond the horizon) with every round pending, `near` meetings inside
    the horizon with every round queued (sent when its time has passed)."""
    now = now.astimezone(TZ)
    groups = [
        ("far", _upcoming(city, rng, far, now + max(timedelta(days=3), HORIZON + timedelta(hours=6)),
                          now + timedelta(days=30), now, 0)),
        # From 5 h ahead, so that the earliest meetings stay inside the horizon for the whole run.
        ("near", _upcoming(city, rng, near, now + timedelta(hours=5), now + HORIZON - timedelta(minutes=30), now,
                           far)),
    ]
    counts = {"far_meetings": 0, "near_meetings": 0, "pending": 0, "sent": 0}
    for label, planned in groups:
        meetings, rows = [], []
        for p in planned:
            (mid,) = await ids.take(session, Meeting, 1)
            rounds = planned_rounds(p.starts)
            meetings.append(_meeting_row(mid, p, MeetingStatus.scheduled, now - timedelta(days=10),
                                         reminded=sum(1 << r for r, _at in rounds)))
            body = _reminder_body(mid, p)
            for round_, at in rounds:
                due = at.astimezone(UTC)
                sent = at <= now
                for pid in p.invited:
                    channel = (Channel.work_app, Channel.mp_custom, Channel.mp_template)[pid % 3]
                    rows.append({
                        "subject_kind": SubjectKind.meeting.value, "subject_id": mid, "person_id": pid,
                        "channel": channel, "recipient": f"u{pid}" if channel == Channel.work_app else f"o_city_{pid}",
                        "reason": "", "status": DeliveryStatus.sent if sent else DeliveryStatus.pending,
                        "attempts": 1 if sent else 0, "next_attempt_at": due, "sent_at": due if sent else None,
                        "purpose": Purpose.meeting_reminder.value, "round": 0 * ROUND_SPAN + round_,  # version 0
                        "body": body, "org_id": None,
                    })
                    counts["sent" if sent else "pending"] += 1
        counts[f"{label}_meetings"] = len(meetings)
        await _insert(session, Meeting, meetings)
        delivery_ids = await ids.take(session, Delivery, len(rows))
        await _insert(session, Delivery, [{"id": i, **r} for i, r in zip(delivery_ids, rows, strict=True)])
    city.reminders = counts


async def seed(database_url: str, *, districts: int = 10, streets: int = 10, communities: int = 5,
               branches: int = 5000, members: int = 20, months: int = 24, gap: float = 0.10, far: int = 5000,
               near: int | None = None, now: datetime, seed_value: int = 20261204, log: Any = None) -> City:
    rng = random.Random(seed_value)
    ids = Ids()
    city = City()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as s:
            await seed_tree(s, ids, rng, districts=districts, streets=streets, communities=communities,
                            branches=branches, members=members, city=city)
            await s.commit()
            if log is not None:
                log(f"  tree: {city.organisations:,} organisations, {city.people:,} members")
            await seed_history(s, ids, rng, city, history_months(now.astimezone(TZ).date(), months), gap, log)
            await s.commit()
            if near is None:  # the city's meetings of those hours: 4.5 a branch a month (2 + 2.5 groups)
                near = round(branches * 4.5 / 30 * (HORIZON - timedelta(hours=5.5)) / timedelta(days=1))
            await seed_reminders(s, ids, rng, city, far=far, near=near, now=now)
            await fix_sequences(s, ids)
            await s.commit()
        if engine.dialect.name == "postgresql":  # autovacuum would have, on a database that grew over two years
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()
    return city
