"""`POST /api/meetings` and `GET /api/meetings/{id}`: the district's OA schedules 阳光社区第一党支部's
monthly 主题党日 with 王书记's token; a date on National Day moves to the next working day and the
answer says why; a year whose holidays are not known is named; every refusal is a reason, a status
and an audit entry, and a meeting outside the token's subtree is not even confirmed to exist."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select

from models import AuditEntry, Meeting, MeetingSeries
from models.official_days import replace_official_years
from models.workdays import WorkCalendar
from tests.seed import Roster, api_token
from tests.stack import Stack

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _post(stack: Stack, token: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with stack.http() as client:
        return await client.post("/api/meetings", headers=headers, json=body)


async def _get(stack: Stack, token: str, meeting_id: object) -> Any:
    async with stack.http() as client:
        return await client.get(f"/api/meetings/{meeting_id}", headers={"Authorization": f"Bearer {token}"})


def _next_year_start(hour: int = 19) -> str:
    year = datetime.now(SHANGHAI).year + 1
    return datetime(year, 1, 15, hour, 30, tzinfo=SHANGHAI).isoformat()


async def _count(stack: Stack, model: Any) -> int:
    async with stack.sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def test_a_party_day_series_is_previewed_created_and_read_back(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    year = datetime.now(SHANGHAI).year + 1
    body = {"org": "B01", "kind": "party_day", "title": "主题党日", "place": "党群服务中心",
            "starts_at": _next_year_start(), "minutes": 90,
            "repeat": {"every": "month", "day": 15, "until": f"{year}-03-31"}}
    preview = await _post(stack, token, {**body, "dry_run": True})
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["dry_run"] and shown["invited"] == 2  # 李党员 and 赵党员, the branch's members
    assert [m["starts_at"][:10] for m in shown["meetings"]] == [f"{year}-01-15", f"{year}-02-15", f"{year}-03-15"]
    assert await _count(stack, Meeting) == 0

    created = await _post(stack, token, body)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert len(answer["meetings"]) == 3 and answer["series_id"] is not None
    assert answer["meetings"][0]["id"] == answer["id"]
    async with stack.sessions() as s:
        assert (await s.exec(select(MeetingSeries))).one().id == answer["series_id"]
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.api"))).one()
    assert audit.detail["meeting_ids"] == [m["id"] for m in answer["meetings"]]

    read = (await _get(stack, token, answer["id"])).json()
    assert (read["org"], read["kind_name"], read["place"], read["minutes"]) == ("B01", "主题党日", "党群服务中心", 90)
    assert read["starts_at"] == answer["meetings"][0]["starts_at"]
    assert read["attendance"] == {"invited": 2, "attending": 0, "leave": 0, "signed_in": 0, "no_reply": 2, "absent": 0}
    assert sorted(p["name"] for p in read["people"]) == ["李党员", "赵党员"]


async def test_national_day_moves_the_meeting_and_an_unknown_year_is_named(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    year = datetime.now(SHANGHAI).year + 1
    national_day = {date(year, 10, d): (False, "国庆节") for d in range(1, 8)}
    async with stack.sessions() as s:  # as `grassroots holidays load` writes them
        await replace_official_years(session=s, days=national_day)
        await s.commit()
    expected = WorkCalendar(national_day).next_workday(date(year, 10, 7))
    answer = (await _post(stack, token, {"org": "B01", "kind": "支部党员大会", "place": "会议室", "dry_run": True,
                                         "starts_at": datetime(year, 10, 1, 9, 0, tzinfo=SHANGHAI).isoformat()})).json()
    moved = answer["meetings"][0]
    assert (moved["moved_from"], moved["holiday"]) == (f"{year}-10-01", "国庆节")
    assert moved["starts_at"] == datetime.combine(expected, time(9, 0), tzinfo=SHANGHAI).isoformat()
    assert moved["note"] == f"10月1日（国庆节）顺延至{expected.month}月{expected.day}日"
    assert answer["calendar_unknown_years"] == []

    far = (await _post(stack, token, {"org": "B01", "kind": "党课", "place": "会议室", "dry_run": True,
                                      "starts_at": "2099-10-01T09:00:00+08:00"})).json()
    assert far["calendar_unknown_years"] == [2099] and far["meetings"][0]["moved_from"] is None
    assert "2099年节假日安排尚未导入" in far["meetings"][0]["note"]


async def test_bad_requests_are_refused_with_a_reason_and_audited(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    good = {"org": "B01", "kind": "committee", "place": "会议室", "starts_at": _next_year_start()}
    past = (datetime.now(SHANGHAI) - timedelta(days=1)).isoformat()
    cases = [
        ({**good, "kind": "开大会"}, 400, "kind"),
        ({**good, "starts_at": "下周一晚上"}, 400, "starts_at"),
        ({**good, "starts_at": "2027-01-15T19:30:00"}, 400, "starts_at"),  # no offset
        ({**good, "starts_at": past}, 400, "starts_at"),
        ({**good, "place": ""}, 400, "place"),
        ({**good, "minutes": "九十"}, 400, "minutes"),
        ({**good, "repeat": {"every": "week"}}, 400, "repeat"),
        ({**good, "repeat": {"every": "month", "weekday": 2}}, 400, "repeat"),
        ({**good, "holiday": "skip"}, 400, "holiday"),
        ({**good, "kind": "group"}, 400, "group"),  # a 党小组会 of a branch needs its group
        ({**good, "org": "C02"}, 403, "org"),  # 和平社区 is outside 阳光社区's subtree
        ({**good, "org": "NOPE"}, 403, "org"),
    ]
    for body, status, name in cases:
        answer = await _post(stack, token, body)
        assert (answer.status_code, answer.json()["field"]) == (status, name), (body, answer.text)
        assert answer.json()["reason"]
    assert (await _post(stack, None, good)).status_code == 401
    async with stack.sessions() as s:
        refusals = (await s.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "meeting.refused"))).one()
    assert refusals == len(cases) + 1 and await _count(stack, Meeting) == 0


async def test_a_meeting_outside_the_tokens_subtree_is_not_confirmed_to_exist(stack: Stack, roster: Roster) -> None:
    wang = await api_token(stack.sessions, roster)
    he = await api_token(stack.sessions, roster, org="C02", person="he")
    created = (await _post(stack, wang, {"org": "B01", "kind": "党课", "place": "会议室",
                                         "starts_at": _next_year_start()})).json()
    elsewhere = await _get(stack, he, created["id"])
    missing = await _get(stack, he, 999999)
    assert elsewhere.status_code == missing.status_code == 403
    assert elsewhere.json()["error"] == missing.json()["error"] == "out_of_scope"
    async with stack.sessions() as s:
        ids = (await s.exec(select(col(Meeting.id)))).all()
    assert ids == [created["id"]]
