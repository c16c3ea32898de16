"""Who a meeting invites, by its kind, and a series created with its dates moved off the holidays:
a branch with two groups, a member who takes part there from another branch, a resident who is not
invited to Party meetings."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.db import SessionFactory
from models import Meeting, MeetingKind, MeetingSeries, Membership, Organisation, OrgLevel, Person, PersonKind, Role
from models.meeting import attendee_ids, create_meetings, kind_of, plan_meetings
from models.meeting_dates import Every, HolidayPolicy, Repeat
from models.organisation import child_path
from models.person import RoleKind
from models.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _branch(sessions: SessionFactory) -> dict[str, int]:
    """B01 with groups G1 and G2; B02 beside it. Returns person ids by name and org ids by code."""
    async with sessions() as s:
        def org(code: str, level: OrgLevel, parent: Organisation | None) -> Organisation:
            o = Organisation(code=code, name=code, level=level, parent_id=parent.id if parent else None,
                             path=child_path(parent, code))
            s.add(o)
            return o
        c = org("C01", OrgLevel.community, None)
        await s.flush()
        b1, b2 = org("B01", OrgLevel.branch, c), org("B02", OrgLevel.branch, c)
        await s.flush()
        g1, g2 = org("G1", OrgLevel.group, b1), org("G2", OrgLevel.group, b1)
        await s.flush()
        ids: dict[str, int] = {o.code: o.id for o in (c, b1, b2, g1, g2)}  # type: ignore[misc]
        for name, kind, primary, also in [
            ("书记", PersonKind.member, b1, None), ("副书记", PersonKind.member, g1, None),
            ("组员甲", PersonKind.member, g1, None), ("组员乙", PersonKind.member, g2, None),
            ("外支部", PersonKind.member, b2, g2), ("隔壁", PersonKind.member, b2, None),
            ("居民", PersonKind.resident, b1, None),
        ]:
            person = Person(name=name, kind=kind)
            s.add(person)
            await s.flush()
            ids[name] = person.id  # type: ignore[assignment]
            s.add(Membership(person_id=person.id, org_id=primary.id, is_primary=True))  # type: ignore[arg-type]
            if also is not None:  # 一方隶属、参加多重组织生活
                s.add(Membership(person_id=person.id, org_id=also.id, is_primary=False))  # type: ignore[arg-type]
        s.add(Role(person_id=ids["书记"], org_id=b1.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        s.add(Role(person_id=ids["副书记"], org_id=b1.id, kind=RoleKind.deputy))  # type: ignore[arg-type]
        await s.commit()
    return ids


async def _invited(sessions: SessionFactory, ids: dict[str, int], kind: MeetingKind, code: str) -> list[str]:
    names = {v: k for k, v in ids.items()}
    async with sessions() as s:
        org = await s.get(Organisation, ids[code])
        assert org is not None
        return [names[i] for i in await attendee_ids(session=s, kind=kind, org=org)]


async def test_a_branch_assembly_invites_its_members_and_those_of_its_groups_and_those_taking_part_there(
    session_factory: SessionFactory,
) -> None:
    ids = await _branch(session_factory)
    assert await _invited(session_factory, ids, MeetingKind.assembly, "B01") == ["书记", "副书记", "组员甲", "组员乙"]
    # 外支部 belongs to B02 and takes part in group G2: invited to G2's meetings and B02's, not to B01's.
    assert await _invited(session_factory, ids, MeetingKind.group, "G2") == ["组员乙", "外支部"]
    assert await _invited(session_factory, ids, MeetingKind.assembly, "B02") == ["外支部", "隔壁"]


async def test_a_committee_meeting_invites_only_the_roles_on_the_branch(session_factory: SessionFactory) -> None:
    ids = await _branch(session_factory)
    assert await _invited(session_factory, ids, MeetingKind.committee, "B01") == ["书记", "副书记"]


def test_the_kinds_are_understood_as_secretaries_write_them() -> None:
    words = ("支委会", "党小组会", "主题党日", "党日", "党课", "支部党员大会", "committee", "开会")
    assert [kind_of(w) for w in words] == [
        MeetingKind.committee, MeetingKind.group, MeetingKind.party_day, MeetingKind.party_day, MeetingKind.lecture,
        MeetingKind.assembly, MeetingKind.committee, None]


async def test_a_monthly_party_day_on_the_1st_is_moved_off_national_day_and_stored_with_why(
    session_factory: SessionFactory,
) -> None:
    ids = await _branch(session_factory)
    async with session_factory() as s:
        branch = await s.get(Organisation, ids["B01"])
        assert branch is not None
        plan = await plan_meetings(
            session=s, kind=MeetingKind.party_day, org=branch, title="主题党日", place="党群服务中心",
            starts_at=datetime(2026, 9, 1, 19, 30, tzinfo=SHANGHAI), minutes=90,
            repeat=Repeat(Every.month, day=1, until=date(2026, 12, 31)), policy=HolidayPolicy.next_workday,
            work_calendar=WorkCalendar())
        assert [p.describe() for p in plan.dates] == ["9月1日", "10月1日（国庆节）顺延至10月8日", "11月1日", "12月1日"]
        assert len(plan.attendees) == 4
        await create_meetings(session=s, plan=plan, author_person_id=ids["书记"])
        await s.commit()
    async with session_factory() as s:
        meetings = (await s.exec(select(Meeting).order_by(Meeting.starts_at))).all()
        series = (await s.exec(select(MeetingSeries))).one()
    assert [m.starts_at.astimezone(UTC) for m in meetings] == [
        datetime(2026, 9, 1, 11, 30, tzinfo=UTC), datetime(2026, 10, 8, 11, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, 11, 30, tzinfo=UTC)]
    assert [(m.moved_from, m.holiday) for m in meetings][1] == (date(2026, 10, 1), "国庆节")
    assert {m.series_id for m in meetings} == {series.id} and series.repeat.describe() == "每月1日，至2026年12月31日"
