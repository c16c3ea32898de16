"""A member's meetings as a calendar feed (`GET /cal/<token>.ics`, the private link `日程` gives), for
the phone's own calendar to subscribe to: the meetings they are invited to from a season back to
a year ahead, with a reminder two hours before. Cancelled meetings stay in the feed, marked
CANCELLED, so a calendar that already shows one crosses it out rather than keeping it."""

from datetime import UTC, datetime, timedelta

from aiohttp import web
from icalendar import Alarm, Calendar, Event, vDuration
from sqlmodel import col, select

from bot.keys import SESSIONS, SETTINGS
from handlers.links import read_calendar_token
from models.meeting import Meeting, MeetingStatus, ends_at, title_of
from models.meeting_calendar import meetings_of
from models.organisation import Organisation
from models.person import Person

CALENDAR_NAME = "我的组织生活"
PRODID = "-//grassroots//meetings//ZH"
BACK = timedelta(days=90)
AHEAD = timedelta(days=400)
ALARM_BEFORE = timedelta(hours=2)
# Subscribed calendars poll at their own pace; this asks for hourly, so a change reaches phones soon.
REFRESH = timedelta(hours=1)
BAD_LINK = "链接无效。请在微信中回复“日程”获取您的日历订阅链接。"
NO_PERSON = "没有找到这个日历的主人。请在微信中回复“日程”获取新的链接。"
HOW_TO_ANSWER = "在微信中回复“参加”或“请假 理由”（有多个会议待回复时加上编号，如“参加 {id}”）。"


def _description(meeting: Meeting) -> str:
    lines = [f"议题：{meeting.topic}"] if meeting.topic else []
    if meeting.status == MeetingStatus.cancelled:
        lines.append("本次会议已取消。")
    elif meeting.status == MeetingStatus.scheduled:
        lines.append(HOW_TO_ANSWER.format(id=meeting.id))
    return "\n".join(lines)


def _event(meeting: Meeting, organiser: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@grassroots")
    event.add("dtstamp", now)
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", ends_at(meeting).astimezone(UTC))
    event.add("summary", f"{title_of(meeting)}（{organiser}）" if organiser else title_of(meeting))
    if meeting.place:
        event.add("location", meeting.place)
    event.add("description", _description(meeting))
    cancelled = meeting.status == MeetingStatus.cancelled
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:  # no reminder to go to a meeting that will not take place
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"两小时后：{title_of(meeting)}")
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def calendar_of(meetings: list[Meeting], organisers: dict[int, str], timezone: str, now: datetime) -> bytes:
    """The feed's text: one event per meeting, times in UTC (the calendar shows them in the phone's zone)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", timezone)
    # Not properties icalendar knows: without vDuration a timedelta would be written as "1:00:00".
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for meeting in meetings:
        cal.add_component(_event(meeting, organisers.get(meeting.org_id, ""), now))
    return cal.to_ical()


def _text(text: str, status: int) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/plain", charset="utf-8")


async def calendar_feed(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    person_id = read_calendar_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    if person_id is None:
        return _text(BAD_LINK, 403)
    now = datetime.now(UTC)
    async with request.app[SESSIONS]() as session:
        if await session.get(Person, person_id) is None:
            return _text(NO_PERSON, 404)
        meetings = await meetings_of(session=session, person_id=person_id, since=now - BACK, until=now + AHEAD)
        org_ids = {m.org_id for m in meetings}
        names = (await session.exec(select(col(Organisation.id), col(Organisation.name))
                                    .where(col(Organisation.id).in_(org_ids)))).all() if org_ids else []
    body = calendar_of(meetings, {i: n for i, n in names if i is not None}, settings.timezone, now)
    response = web.Response(body=body, content_type="text/calendar", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cal/{token}.ics", calendar_feed)
