"""三会一课 obligations: the branch held its 主题党日 and 支委会 last month but no 党小组会 in its group,
so the group is behind for last month; this month nothing is behind yet (the month is not over) but
the bars show what is still to hold. The secretary reads it with 合规 and on the phone page; the API
gives the same figures."""

from datetime import date, datetime, timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Organisation
from models.meeting import MeetingKind, attendance_of, create_meetings, plan_meetings
from models.meeting_dates import Every, HolidayPolicy
from models.meeting_record import MeetingRecord, record_held
from models.obligations import (
    DEFAULT_OBLIGATIONS,
    Obligation,
    compliance,
    parse_obligations,
    parse_period,
    sub_periods,
)
from models.organisation import OrgLevel, child_path
from models.workdays import WorkCalendar
from tests.seed import Roster, api_token
from tests.stack import Stack


def test_periods_as_secretaries_write_them() -> None:
    month, quarter, year = parse_period("2026-11"), parse_period("2026-Q4"), parse_period("2026")
    assert month is not None and (month.start, month.end, month.name()) == (date(2026, 11, 1), date(2026, 12, 1),
                                                                              "2026年11月")
    assert quarter is not None and (quarter.start, quarter.end, quarter.name()) == (
        date(2026, 10, 1), date(2027, 1, 1), "2026年第4季度")
    assert year is not None and (year.start, year.end) == (date(2026, 1, 1), date(2027, 1, 1))
    assert [parse_period(t) for t in ("2026-13", "2026-Q5", "26", "2026-11-01", "")] == [None] * 5
    assert [p.label for p in sub_periods(quarter, Every.month)] == ["2026-10", "2026-11", "2026-12"]
    assert [p.label for p in sub_periods(month, Every.year)] == ["2026"]  # a yearly one over a month: its year


def test_obligations_are_configurable_and_a_bad_setting_says_what_is_wrong() -> None:
    default = parse_obligations(DEFAULT_OBLIGATIONS)
    assert Obligation(MeetingKind.assembly, Every.quarter) in default and len(default) == 7
    assert parse_obligations("lecture:quarter:2") == [Obligation(MeetingKind.lecture, Every.quarter, 2)]
    for bad, said in (("lecture", "种类:周期"), ("talk:month", "无效"), ("lecture:week", "无效"),
                      ("lecture:month:0", "正整数")):
        with pytest.raises(ValueError, match=said):
            parse_obligations(bad)


async def _held(s: AsyncSession, roster: Roster, kind: MeetingKind, starts: datetime,
                group: Organisation | None = None) -> int:
    branch = await s.get(Organisation, roster.orgs["B01"].id)
    assert branch is not None
    plan = await plan_meetings(session=s, kind=kind, org=branch, title="", starts_at=starts, minutes=60, place="",
                               group=group, policy=HolidayPolicy.keep, work_calendar=WorkCalendar())
    meeting = (await create_meetings(session=s, plan=plan, author_person_id=None))[0]
    attendance = await attendance_of(session=s, meeting=meeting, org=branch, now=starts + timedelta(hours=2))
    record = await record_held(session=s, meeting=meeting, attendance=attendance, host="王书记", recorder="李党员",
                               minutes="学习", by=None, actor="test", now=starts + timedelta(hours=2))
    assert isinstance(record, MeetingRecord) and meeting.id is not None
    return meeting.id


async def _seed(stack: Stack, roster: Roster) -> str:
    """Last month: 主题党日 and 支委会 held, no 党小组会; a group under the branch. Returns last month."""
    tz = stack.settings.tz
    today = datetime.now(tz).date()
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=10)
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        group = Organisation(code="B01G1", name="第一党小组", level=OrgLevel.group, parent_id=branch.id,  # type: ignore[union-attr]
                             path=child_path(branch, "B01G1"))
        s.add(group)
        await s.flush()
        at = datetime.combine(last, datetime.min.time(), tz).replace(hour=19)
        await _held(s, roster, MeetingKind.party_day, at)
        await _held(s, roster, MeetingKind.committee, at + timedelta(days=1))
        await s.commit()
    return f"{last.year}-{last.month:02d}"


async def test_a_group_without_its_monthly_meeting_is_behind_for_last_month(stack: Stack, roster: Roster) -> None:
    last = await _seed(stack, roster)
    tz = stack.settings.tz
    async with stack.sessions() as s:
        root = await s.get(Organisation, roster.orgs["C01"].id)
        assert root is not None
        period = parse_period(last)
        assert period is not None
        result = await compliance(session=s, root=root, period=period,
                                  obligations=parse_obligations(DEFAULT_OBLIGATIONS), today=datetime.now(tz).date())
    by_org = {o.org.code: o for o in result.organisations}
    assert set(by_org) == {"B01", "B01G1"}
    branch = {s.obligation.kind: s for s in by_org["B01"].obligations}
    assert (branch[MeetingKind.party_day].held, branch[MeetingKind.party_day].ok) == (1, True)
    assert (branch[MeetingKind.committee].held, branch[MeetingKind.committee].required) == (1, 1)
    [group] = by_org["B01G1"].obligations
    assert (group.obligation.kind, group.required, group.held, group.ok, group.missing) == (
        MeetingKind.group, 1, 0, False, [last])
    assert [o.org.code for o in result.behind] == ["B01G1"]


async def test_the_secretary_reads_compliance_in_the_chat_on_the_page_and_through_the_api(
    stack: Stack, roster: Roster
) -> None:
    last = await _seed(stack, roster)
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    reply = (await wang.send_text(f"合规 {last}")).content or ""
    lines = reply.split("\n")
    assert lines[0].startswith("阳光社区 ") and lines[0].endswith(" 三会一课：")
    assert lines[1] == "党支部、党小组 2 个，达标 1 个，未达标 1 个。"
    assert "· 未达标 第一党小组：党小组会 0/1" in lines
    now_reply = (await wang.send_text("合规")).content or ""
    assert "未达标 0 个" in now_reply and "· 待召开 " in now_reply  # this month is not over yet
    async with stack.http() as http:
        page = await http.get(lines[-1].removeprefix("详情：").removeprefix(stack.base_url))
        token = await api_token(stack.sessions, roster)
        api = await http.get("/api/compliance", params={"org": "C01", "period": last},
                             headers={"Authorization": f"Bearer {token}"})
        bad = await http.get("/api/compliance", params={"period": "last month"},
                             headers={"Authorization": f"Bearer {token}"})
        outside = await http.get("/api/compliance", params={"org": "C02"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200 and "第一党小组" in page.text and "未达标" in page.text
    assert "党小组会 0/1" in page.text
    assert api.status_code == 200 and bad.status_code == 400 and outside.status_code == 403
    body = api.json()
    assert body["org"] == "C01" and body["period"] == last and body["behind"] == [
        {"org": "B01G1", "name": "第一党小组", "missing": ["党小组会"]}]
    group = next(o for o in body["organisations"] if o["org"] == "B01G1")
    assert group["obligations"] == [{"kind": "group", "kind_name": "党小组会", "every": "month", "times": 1,
                                     "required": 1, "held": 0, "ok": False, "missing": [last]}]
    assert "held" in body["definitions"]
    assert (await stack.phone("mp", "o_li").send_text("合规")).content == "“合规”只对书记、副书记和管理员开放。"
