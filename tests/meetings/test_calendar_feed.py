"""A member's meetings in the phone's own calendar: 李党员 binds, replies 日程 and gets his next
meetings and a private link; his phone's calendar subscribes to it and shows his branch's 主题党日 at the
right time and place, with a reminder two hours before, and a cancelled 党课 crossed out. 赵党员 cannot
turn his own link into 李党员's; 和平社区's secretary does not see 阳光社区's branch meetings; a
stranger is told to bind first."""

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event
from itsdangerous import URLSafeSerializer

from bot.db import SessionFactory
from handlers.links import CALENDAR_SALT, calendar_url, read_calendar_token
from models import Meeting, Organisation
from models.meeting import MeetingKind, MeetingStatus, create_meetings, plan_meetings
from models.meeting_calendar import meetings_of
from models.workdays import WorkCalendar
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack


async def _meeting(sessions: SessionFactory, roster: Roster, starts: datetime, *, org: str = "B01",
                   kind: MeetingKind = MeetingKind.party_day, title: str = "主题党日", topic: str = "",
                   status: MeetingStatus = MeetingStatus.scheduled) -> Meeting:
    async with sessions() as s:
        organiser = await s.get(Organisation, roster.orgs[org].id)
        assert organiser is not None
        plan = await plan_meetings(session=s, kind=kind, org=organiser, title=title, starts_at=starts, minutes=90,
                                   place="党群服务中心", topic=topic, work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        meeting.status = status  # nothing cancels a meeting from the chat yet: as another instance would
        await s.commit()
        return meeting


def _evening(stack: Stack, days: int) -> datetime:
    return (datetime.now(stack.settings.tz) + timedelta(days=days)).replace(hour=19, minute=30, second=0,
                                                                            microsecond=0)


def _link(reply: str) -> str:
    return reply[reply.index("http"):].split("（")[0]


async def _feed(stack: Stack, link: str) -> Calendar:
    async with stack.http() as http:
        got = await http.get(link.removeprefix(stack.base_url))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "text/calendar; charset=utf-8"
    assert got.headers["cache-control"] == "no-store"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in got.content  # the phone polls hourly
    return Calendar.from_ical(got.content)


def _events(cal: Calendar) -> dict[str, Event]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


async def test_a_member_subscribes_to_his_meetings_and_his_calendar_shows_them(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    starts = _evening(stack, 3)
    party_day = await _meeting(stack.sessions, roster, starts, topic="学习二十届四中全会精神")
    lecture = await _meeting(stack.sessions, roster, _evening(stack, 10), kind=MeetingKind.lecture, title="党课",
                             status=MeetingStatus.cancelled)

    reply = (await li.send_text("日程")).content or ""
    assert reply.startswith("您近期的会议：\n") and f"第 {party_day.id} 号：" in reply
    assert "主题党日，党群服务中心" in reply
    assert f"第 {lecture.id} 号" not in reply  # cancelled: nothing to attend
    assert "订阅到手机日历：http" in reply and "（请勿转发，链接只属于您）" in reply
    assert "添加已订阅的日历" in reply and "通过网址" in reply
    link = _link(reply)
    assert link.startswith(f"{stack.base_url}/cal/") and link.endswith(".ics")
    assert (await li.send_text("我的日程")).content == reply and (await li.send_text("日历")).content == reply

    cal = await _feed(stack, link)
    assert str(cal["x-wr-calname"]) == "我的组织生活" and str(cal["x-wr-timezone"]) == "Asia/Shanghai"
    assert str(cal["version"]) == "2.0" and str(cal["method"]) == "PUBLISH" and str(cal["calscale"]) == "GREGORIAN"
    events = _events(cal)
    assert set(events) == {f"meeting-{party_day.id}@grassroots", f"meeting-{lecture.id}@grassroots"}

    shown = events[f"meeting-{party_day.id}@grassroots"]
    assert shown.decoded("dtstart") == starts and shown.decoded("dtstart").tzinfo is not None
    assert shown["dtstart"].to_ical() == starts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()  # in UTC
    assert shown.decoded("dtend") == starts + timedelta(minutes=90)
    assert str(shown["summary"]) == "主题党日（阳光社区第一党支部）" and str(shown["location"]) == "党群服务中心"
    assert "议题：学习二十届四中全会精神" in str(shown["description"]) and "“请假 理由”" in str(shown["description"])
    assert str(shown["status"]) == "CONFIRMED"
    [alarm] = shown.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == -timedelta(hours=2)

    crossed_out = events[f"meeting-{lecture.id}@grassroots"]
    assert str(crossed_out["status"]) == "CANCELLED" and str(crossed_out["summary"]).startswith("党课")
    assert not crossed_out.walk("VALARM")


async def test_a_link_cannot_be_altered_into_another_members(stack: Stack, roster: Roster) -> None:
    await _meeting(stack.sessions, roster, _evening(stack, 3))
    zhao_link = _link((await stack.phone("work", "zhaody").send_text("日程")).content or "")
    secret = stack.settings.secret_key.get_secret_value()
    zhao_token = zhao_link.rsplit("/", 1)[1].removesuffix(".ics")
    assert read_calendar_token(secret, zhao_token) == roster.people["zhao"].id
    # 李党员's id with 赵党员's signature, and a token the service never signed.
    li_payload = URLSafeSerializer(secret, salt=CALENDAR_SALT).dumps(roster.people["li"].id).split(".")[0]
    altered = f"{li_payload}.{zhao_token.split('.', 1)[1]}"
    forged = URLSafeSerializer("not-our-secret", salt=CALENDAR_SALT).dumps(roster.people["li"].id)
    async with stack.http() as http:
        for token in (altered, forged, "not-a-token"):
            refused = await http.get(f"/cal/{token}.ics")
            assert refused.status_code == 403 and "链接无效" in refused.text, token
        gone = await http.get(calendar_url("", secret, 99999))
    assert gone.status_code == 404 and "没有找到" in gone.text
    assert len(_events(await _feed(stack, zhao_link))) == 1  # his own link still works


async def test_another_communitys_member_does_not_see_the_branchs_meetings(stack: Stack, roster: Roster) -> None:
    he = stack.phone("mp", "o_he")
    await he.send_text("绑定 HE2345")
    await _meeting(stack.sessions, roster, _evening(stack, 3))
    theirs = await _meeting(stack.sessions, roster, _evening(stack, 4), org="C02", kind=MeetingKind.assembly,
                            title="")  # untitled: the calendar names its kind
    reply = (await he.send_text("日程")).content or ""
    events = _events(await _feed(stack, _link(reply)))
    assert list(events) == [f"meeting-{theirs.id}@grassroots"]
    assert str(events[f"meeting-{theirs.id}@grassroots"]["summary"]) == "支部党员大会（和平社区）"


async def test_a_stranger_is_told_to_bind_first_and_a_resident_that_it_is_for_members(
    stack: Stack, roster: Roster
) -> None:
    assert (await stack.phone("mp", "o_stranger").send_text("日程")).content == "请先回复“绑定 邀请码”绑定党员身份。"
    resident = stack.phone("mp", "o_resident")
    await resident.send_event("subscribe", "qrscene_C01")  # joins 阳光社区 by scanning its code
    assert (await resident.send_text("日程")).content == "日程订阅只对党员开放。"


async def test_the_feed_spans_its_window_and_keeps_held_and_cancelled_meetings(
    session_factory: SessionFactory,
) -> None:
    roster = await seed_small_roster(session_factory)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    at = {days: await _meeting(session_factory, roster, now + timedelta(days=days), status=status)
          for days, status in ((-30, MeetingStatus.held), (0, MeetingStatus.scheduled),
                               (5, MeetingStatus.cancelled), (10, MeetingStatus.scheduled))}
    async with session_factory() as s:
        li = roster.people["li"].id
        assert li is not None
        found = await meetings_of(session=s, person_id=li, since=now - timedelta(days=30),
                                  until=now + timedelta(days=10))
        # 王书记's primary organisation is the community above: the branch's meetings are not his.
        wang = await meetings_of(session=s, person_id=roster.people["wang"].id or 0, since=now - timedelta(days=90),
                                 until=now + timedelta(days=90))
    assert [m.id for m in found] == [at[-30].id, at[0].id, at[5].id]  # from `since`, up to before `until`
    assert wang == []
