"""`POST /api/meetings` and `GET /api/meetings/{id}`: meetings (三会一课, 主题党日) for other systems, with
the same bearer tokens as notices, scoped to the token's subtree. A series' dates are placed on the
Chinese calendar by its holiday policy; `dry_run` answers with the dates (moved ones and why) and the
number invited, without creating anything. Every creation and every refusal is audited."""

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.keys import SESSIONS, SETTINGS
from bot.web.api_edge import HttpRefusal, answer, authorised, field, json_body, refused
from models.api_token import ApiToken
from models.audit import record_audit
from models.meeting import (
    KIND_NAMES,
    PLACE_LIMIT,
    TITLE_LIMIT,
    TOPIC_LIMIT,
    Meeting,
    MeetingKind,
    MeetingPlan,
    MeetingStatus,
    attendance_of,
    create_meetings,
    kind_of,
    plan_meetings,
)
from models.meeting_dates import Every, HolidayPolicy, Repeat, unknown_years
from models.meeting_photo import photo_data
from models.meeting_reminders import queue_due_reminders
from models.notice_send import Refusal, RefusalKind, bad
from models.official_days import load_official_days
from models.organisation import Organisation, OrgLevel, get_org_by_code
from models.workdays import WorkCalendar

MAX_MINUTES = 24 * 60


def _in_scope(org: Organisation | None, scope: Organisation, name: str, code: str) -> Organisation:
    if org is None or not org.path.startswith(scope.path):
        # One answer for "no such organisation" and "not yours": no probing of other subtrees.
        raise Refusal(RefusalKind.not_allowed, "out_of_scope", f"组织“{code}”不存在，或不在令牌的管理范围内", name)
    return org


def _starts_at(body: dict[str, Any], now: datetime) -> datetime:
    text = field(body, "starts_at", str, "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad("bad_field", "starts_at 应为带时区的 ISO 8601 时间，如 2026-12-28T19:30:00+08:00",
                  "starts_at") from None
    if moment.tzinfo is None:
        raise bad("bad_field", "starts_at 须带时区偏移，如 +08:00", "starts_at")
    if moment < now - timedelta(minutes=5):
        raise bad("in_the_past", "开始时间已过，不能安排过去的会议", "starts_at")
    return moment


def _repeat(body: dict[str, Any]) -> Repeat | None:
    raw = field(body, "repeat", dict, None)
    if raw is None:
        return None
    try:
        every = Every(raw.get("every"))
    except ValueError:
        raise bad("bad_field", "repeat.every 应为 month、quarter 或 year", "repeat") from None
    numbers = {}
    for name in ("day", "weekday", "nth"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise bad("bad_field", f"repeat.{name} 应为整数", "repeat")
        numbers[name] = value
    until = None
    if raw.get("until") is not None:
        try:
            until = datetime.fromisoformat(str(raw["until"])).date()
        except ValueError:
            raise bad("bad_field", "repeat.until 应为日期，如 2027-12-31", "repeat") from None
    repeat = Repeat(every, numbers["day"], numbers["weekday"], numbers["nth"], until)
    if problems := repeat.problems():
        raise bad("bad_field", "；".join(problems), "repeat")
    return repeat


def _text(body: dict[str, Any], name: str, limit: int, required: bool) -> str:
    value = field(body, name, str, "").strip()
    if required and not value:
        raise bad("bad_field", f"缺少 {name}", name)
    if len(value) > limit:
        raise bad("bad_field", f"{name} 最多 {limit} 个字", name)
    return value


async def plan_from_body(session: AsyncSession, body: dict[str, Any], scope: Organisation, now: datetime
                         ) -> MeetingPlan:
    """The plan of a meeting (or series) described as the API's JSON body, within `scope`; raises a Refusal
    naming the field at fault (`grassroots meeting create` builds the same body)."""
    code = field(body, "org", str, "")
    org = _in_scope(await get_org_by_code(session=session, code=code), scope, "org", code)
    kind = kind_of(field(body, "kind", str, ""))
    if kind is None:
        names = "、".join(k.value for k in MeetingKind)
        raise bad("bad_field", f"kind 应为 {names} 之一（或其中文名称）", "kind")
    group = None
    if (group_code := field(body, "group", str, None)) is not None:
        group = _in_scope(await get_org_by_code(session=session, code=group_code), org, "group", group_code)
        if group.level != OrgLevel.group:
            raise bad("bad_field", f"“{group.name}”不是党小组", "group")
    elif kind == MeetingKind.group and org.level != OrgLevel.group:
        raise bad("bad_field", "党小组会须给出 group（党小组编码），或以党小组为 org", "group")
    minutes = field(body, "minutes", int, 90)
    if not 1 <= minutes <= MAX_MINUTES:
        raise bad("bad_field", "minutes 应在 1 到 1440 之间", "minutes")
    try:
        policy = HolidayPolicy(field(body, "holiday", str, HolidayPolicy.next_workday.value))
    except ValueError:
        raise bad("bad_field", "holiday 应为 next_workday、previous_workday 或 keep", "holiday") from None
    calendar = WorkCalendar(await load_official_days(session=session))
    return await plan_meetings(
        session=session, kind=kind, org=org, group=group,
        title=_text(body, "title", TITLE_LIMIT, required=False) or KIND_NAMES[kind],
        topic=_text(body, "topic", TOPIC_LIMIT, required=False), place=_text(body, "place", PLACE_LIMIT, True),
        starts_at=_starts_at(body, now), minutes=minutes, repeat=_repeat(body), policy=policy,
        work_calendar=calendar)


def _dates(plan: MeetingPlan, meetings: list[Meeting] | None) -> list[dict[str, Any]]:
    out = []
    for i, placed in enumerate(plan.dates):
        out.append({
            **({"id": meetings[i].id} if meetings else {}),
            "starts_at": plan.starts(placed).isoformat(),
            "moved_from": placed.moved_from.isoformat() if placed.moved_from else None,
            "holiday": placed.holiday,
            "note": placed.describe(),
        })
    return out


async def post_meeting(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    now = datetime.now(settings.tz)
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        body: dict[str, Any] = {}
        try:
            token, scope = await authorised(session, request)
            body = await json_body(request)
            plan = await plan_from_body(session, body, scope, now)
            if not plan.dates:
                raise bad("no_dates", "按该重复规则，截止日期前没有会议", "repeat")
            unknown = unknown_years(plan.dates)
            common = {"invited": len(plan.attendees), "calendar_unknown_years": unknown}
            if field(body, "dry_run", bool, False):
                return answer(200, {"dry_run": True, **common, "meetings": _dates(plan, None)})
            meetings = await create_meetings(session=session, plan=plan, author_person_id=token.person_id)
            # Those starting soon are reminded from now on; the tick queues the others as they come near.
            reminders = await queue_due_reminders(session=session, now=now, quiet=settings.quiet_window,
                                                  offsets=settings.reminder_offsets)
        except Refusal as refusal:
            return await refused(session, refusal, token, action="meeting.refused", org=str(body.get("org", ""))[:32])
        result = {"id": meetings[0].id, "series_id": meetings[0].series_id, **common, "reminders_queued": reminders,
                  "meetings": _dates(plan, meetings)}
        record_audit(session=session, action="meeting.api", actor=f"api:{token.id}", actor_person_id=token.person_id,
                     org_id=plan.org.id, token_id=token.id, meeting_ids=[m.id for m in meetings],
                     calendar_unknown_years=unknown)
        await session.commit()
    return answer(201, result)


async def get_meeting(request: web.Request) -> web.Response:
    now = datetime.now(request.app[SETTINGS].tz)
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        try:
            token, scope = await authorised(session, request)
            raw_id = request.match_info["id"]
            meeting = await session.get(Meeting, int(raw_id)) if raw_id.isdigit() else None
            org = await session.get(Organisation, meeting.org_id) if meeting else None
            if meeting is None or org is None or not org.path.startswith(scope.path):
                raise Refusal(RefusalKind.not_allowed, "out_of_scope",
                              f"没有找到第 {raw_id[:20]} 号会议，或不在令牌的管理范围内")
        except Refusal as refusal:
            return await refused(session, refusal, token, action="meeting.refused",
                                 meeting_id=request.match_info["id"][:20])
        attendance = await attendance_of(session=session, meeting=meeting, org=org, now=now)
    tz = request.app[SETTINGS].tz
    return answer(200, {
        "id": meeting.id, "series_id": meeting.series_id, "org": org.code, "kind": MeetingKind(meeting.kind).value,
        "kind_name": KIND_NAMES[meeting.kind], "title": meeting.title, "topic": meeting.topic,
        "starts_at": meeting.starts_at.astimezone(tz).isoformat(), "minutes": meeting.minutes, "place": meeting.place,
        "status": MeetingStatus(meeting.status).value,
        "moved_from": meeting.moved_from.isoformat() if meeting.moved_from else None,
        "holiday": meeting.holiday or None,
        "attendance": attendance.counts,
        "people": [{"name": p.name, "status": p.status, "reason": p.reason, "leave": p.leave,
                    "signed_in_at": p.signed_in_at.astimezone(tz).isoformat() if p.signed_in_at else None}
                   for p in attendance.people],
    })


def _number(raw: str) -> int | None:
    # At most 9 digits: a larger number is no row's id, and would overflow PostgreSQL's integer.
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


async def get_meeting_photo(request: web.Request) -> web.StreamResponse:
    """`GET /api/meetings/{id}/photos/{photo_id}`: a stored photo of the meeting's record (纪实), the
    image itself, for a token whose subtree holds the meeting."""
    raw_id, raw_photo = request.match_info["id"], request.match_info["photo_id"]
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        try:
            token, scope = await authorised(session, request)
            meeting_id, photo_id = _number(raw_id), _number(raw_photo)
            meeting = await session.get(Meeting, meeting_id) if meeting_id is not None else None
            org = await session.get(Organisation, meeting.org_id) if meeting else None
            if meeting is None or org is None or not org.path.startswith(scope.path):
                raise Refusal(RefusalKind.not_allowed, "out_of_scope",
                              f"没有找到第 {raw_id[:20]} 号会议，或不在令牌的管理范围内")
            photo = (await photo_data(session=session, photo_id=photo_id, meeting_id=meeting.id)
                     if photo_id is not None else None)
            if photo is None:
                raise HttpRefusal(404, "no_photo", "这次会议没有这张照片，或照片尚未取回")
        except Refusal as refusal:
            return await refused(session, refusal, token, action="meeting.refused", meeting_id=raw_id[:20],
                                 photo_id=raw_photo[:20])
    content_type, data = photo
    # The photo never changes once stored; it is the organisation's, not for shared caches.
    return web.Response(body=data, content_type=content_type, headers={"Cache-Control": "private, max-age=86400"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/meetings", post_meeting)
    app.router.add_get("/api/meetings/{id}", get_meeting)
    app.router.add_get("/api/meetings/{id}/photos/{photo_id}", get_meeting_photo)
