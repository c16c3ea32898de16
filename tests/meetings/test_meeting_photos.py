"""Meeting photos (纪实): 王书记 sends photos from the 主题党日 that ended 20 minutes ago; the service
fetches them from WeChat's temporary media and keeps them with the meeting — once, however often
WeChat repeats the callback. A photo 4 hours after the end, or from a member, is not kept. A photo
whose media WeChat has already dropped fails with the reason instead of being retried for ever; a
network fault is retried, a page that is not a picture or a file too large is refused."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.keys import API
from bot.media_fetcher import EXPIRED, MediaFetcher
from handlers.meeting_photos import NO_MEETING
from handlers.replies import NOT_TEXT
from models import Meeting, MeetingPhoto, Organisation
from models.clock import utcnow
from models.meeting import MeetingKind, MeetingStatus, create_meetings, plan_meetings
from models.meeting_photo import PhotoStatus, photo_count, photo_data, photos_of
from models.workdays import WorkCalendar
from tests.seed import Roster, api_token
from tests.stack import Stack, running_stack

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x01" * 4000
JPEG2 = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x02" * 5000
FAST = 0.1  # seconds the service's own fetcher rests between rounds
LATE = 60.0  # the service's fetcher rests past the test: the test runs a fetcher of its own, when it likes
fetcher_runs_late = pytest.mark.parametrize("stack", [LATE], indirect=True, ids=["fetcher-late"])


@pytest.fixture
async def stack(request: pytest.FixtureRequest, engine: AsyncEngine, database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url, media_fetch_idle=getattr(request, "param", FAST)) as running:
        yield running


def _fetcher(stack: Stack, **options: object) -> MediaFetcher:
    return MediaFetcher(sessions=stack.sessions, api=stack.app[API], **options)  # type: ignore[arg-type]


def _late(stack: Stack, by: timedelta, **options: object) -> MediaFetcher:
    """A fetcher whose clock is `by` ahead: it runs that much later than now."""
    return _fetcher(stack, clock=lambda: utcnow() + by, **options)


async def _meeting(stack: Stack, roster: Roster, *, ended_ago: timedelta, minutes: int = 90) -> Meeting:
    """A 主题党日 of 阳光社区第一党支部 (within 王书记's 阳光社区) that ended `ended_ago` ago."""
    starts = datetime.now(stack.settings.tz) - ended_ago - timedelta(minutes=minutes)
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert branch is not None
        plan = await plan_meetings(session=s, kind=MeetingKind.party_day, org=branch, title="主题党日",
                                   starts_at=starts.replace(second=0, microsecond=0), minutes=minutes,
                                   place="党群服务中心", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        return meeting


def _kept_in(stack: Stack, meeting: Meeting) -> str:
    day = meeting.starts_at.astimezone(stack.settings.tz)
    return f"已收到照片，将存入第 {meeting.id} 号会议（{day.month}月{day.day}日 主题党日）的纪实。"


async def _photos(stack: Stack) -> list[MeetingPhoto]:
    async with stack.sessions() as s:
        return list((await s.exec(select(MeetingPhoto).order_by(MeetingPhoto.id))).all())  # type: ignore[arg-type]


async def _until_settled(stack: Stack, count: int, within: float = 10.0) -> list[MeetingPhoto]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        photos = await _photos(stack)
        settled = [p for p in photos if p.status != PhotoStatus.pending]
        if len(settled) >= count or asyncio.get_running_loop().time() > deadline:
            return photos
        await asyncio.sleep(0.05)


async def test_photos_sent_after_the_meeting_are_fetched_and_kept_with_its_record(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    meeting = await _meeting(stack, roster, ended_ago=timedelta(minutes=20))

    assert (await wang.send_image(JPEG)).content == _kept_in(stack, meeting)
    assert (await wang.send_image(JPEG2)).content == _kept_in(stack, meeting)

    photos = await _until_settled(stack, 2)
    assert [p.status for p in photos] == [PhotoStatus.stored, PhotoStatus.stored]
    calls = stack.emulator.calls("/mp/cgi-bin/media/get")
    assert sorted(c.args["media_id"] for c in calls) == sorted(p.media_id for p in photos)
    assert all(c.http_status == 200 and c.errcode is None for c in calls)
    async with stack.sessions() as s:
        listed = await photos_of(session=s, meeting_id=meeting.id or 0)
        assert [(p.status, p.content_type, p.size, p.sent_by_person_id) for p in listed] == [
            (PhotoStatus.stored, "image/jpeg", len(JPEG), roster.people["wang"].id),
            (PhotoStatus.stored, "image/jpeg", len(JPEG2), roster.people["wang"].id),
        ]
        assert await photo_data(session=s, photo_id=listed[0].id) == ("image/jpeg", JPEG)
        assert await photo_data(session=s, photo_id=listed[1].id) == ("image/jpeg", JPEG2)
        assert await photo_count(session=s, meeting_ids=[meeting.id or 0, 999]) == {meeting.id: 2, 999: 0}

    # Other systems read a photo of the record with the meetings API's token.
    token = await api_token(stack.sessions, roster)
    async with stack.http(headers={"Authorization": f"Bearer {token}"}) as http:
        shown = await http.get(f"/api/meetings/{meeting.id}/photos/{listed[1].id}")
        assert shown.status_code == 200 and shown.content == JPEG2 and shown.headers["content-type"] == "image/jpeg"
        assert (await http.get(f"/api/meetings/{meeting.id}/photos/12345")).status_code == 404
    theirs = await api_token(stack.sessions, roster, org="C02", person="he")
    async with stack.http(headers={"Authorization": f"Bearer {theirs}"}) as http:
        assert (await http.get(f"/api/meetings/{meeting.id}/photos/{listed[1].id}")).status_code == 403


async def test_the_same_callback_twice_stores_one_photo(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    meeting = await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    first = await wang.send_image(JPEG)
    # WeChat got no answer in time and sends the very same callback again.
    assert (await wang.replay()).content == first.content == _kept_in(stack, meeting)
    # And the same picture under a new MsgId (a resend of the message) is known by its MediaId.
    [photo] = await _photos(stack)
    again = await wang.send_message("image", PicUrl="http://mmbiz.qpic.cn/x/0", MediaId=photo.media_id)
    assert (again.content or "").startswith("这张照片已收到过")

    [photo] = await _until_settled(stack, 1)
    assert photo.status == PhotoStatus.stored and photo.data == JPEG
    assert len(stack.emulator.calls("media/get")) == 1


async def test_a_photo_four_hours_after_the_end_gets_a_clear_answer_and_is_not_kept(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(hours=4))
    assert (await wang.send_image(JPEG)).content == NO_MEETING
    # A cancelled meeting that "ended" 20 minutes ago takes no photos either.
    cancelled = await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    async with stack.sessions() as s:
        row = await s.get(Meeting, cancelled.id)
        assert row is not None
        row.status = MeetingStatus.cancelled
        await s.commit()
    assert (await wang.send_image(JPEG)).content == NO_MEETING

    await asyncio.sleep(3 * FAST)  # the fetcher had its rounds
    assert await _photos(stack) == [] and stack.emulator.calls("media/get") == []


async def test_a_photo_during_the_meeting_counts_and_the_latest_meeting_takes_it(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(hours=2))
    under_way = await _meeting(stack, roster, ended_ago=timedelta(minutes=-30))  # started an hour ago
    assert (await wang.send_image(JPEG)).content == _kept_in(stack, under_way)


async def test_a_members_picture_goes_to_the_help(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    assert (await li.send_image(JPEG)).content == NOT_TEXT
    assert await _photos(stack) == []


async def test_a_photo_sent_on_wecom_is_fetched_through_wecom(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")  # the roster's WeCom account: his first message binds him
    await wang.send_text("帮助")
    meeting = await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    assert (await wang.send_image(JPEG)).content == _kept_in(stack, meeting)
    [photo] = await _until_settled(stack, 1)
    assert photo.status == PhotoStatus.stored and photo.data == JPEG and photo.platform == "work"
    [call] = stack.emulator.calls("media/get")
    assert call.endpoint == "/work/cgi-bin/media/get" and call.args["media_id"] == photo.media_id


@fetcher_runs_late
async def test_an_expired_media_id_fails_with_the_reason_instead_of_retrying(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    await wang.send_image(JPEG)
    stack.emulator.advance_clock(3 * 86400 + 60)  # WeChat has dropped the picture (and our token)

    fetcher = _fetcher(stack)
    assert await fetcher.run_once() == 1
    [photo] = await _photos(stack)
    assert (photo.status, photo.error, photo.data, photo.attempts) == (PhotoStatus.failed, EXPIRED, None, 1)
    # WeChat said 40007 once, and nobody asks again, now or later.
    assert [c.errcode for c in stack.emulator.calls("media/get")] == [40007]
    assert await fetcher.run_once() == 0
    assert await _late(stack, timedelta(hours=1)).run_once() == 0
    assert len(stack.emulator.calls("media/get")) == 1


@fetcher_runs_late
async def test_a_photo_the_service_could_not_fetch_for_three_days_fails_without_a_call(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    await wang.send_image(JPEG)
    assert await _late(stack, timedelta(days=3, minutes=1)).run_once() == 1
    [photo] = await _photos(stack)
    assert (photo.status, photo.error) == (PhotoStatus.failed, EXPIRED)
    assert stack.emulator.calls("media/get") == []


@fetcher_runs_late
async def test_a_busy_wechat_or_a_500_is_retried_with_back_off_until_the_attempts_are_spent(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    await wang.send_image(JPEG)
    stack.emulator.force_error("media/get", -1)

    assert await _fetcher(stack).run_once() == 1
    [photo] = await _photos(stack)
    assert (photo.status, photo.attempts, photo.error) == (PhotoStatus.pending, 1, "微信系统繁忙，稍后重试")
    assert photo.next_attempt_at > utcnow()
    assert await _fetcher(stack).run_once() == 0  # not yet: it backs off
    assert await _late(stack, timedelta(minutes=15)).run_once() == 1
    [photo] = await _photos(stack)
    assert (photo.status, photo.data, photo.attempts) == (PhotoStatus.stored, JPEG, 2)

    await wang.send_image(JPEG2)
    stack.emulator.set_faults(http_500_rate=1.0)
    assert await _late(stack, timedelta(minutes=15), max_attempts=2).run_once() == 1
    assert await _late(stack, timedelta(minutes=30), max_attempts=2).run_once() == 1
    stack.emulator.clear_faults()
    second = (await _photos(stack))[1]
    assert (second.status, second.attempts) == (PhotoStatus.failed, 2)
    assert second.error == "下载 2 次均未成功：微信服务器错误（HTTP 500）"


@fetcher_runs_late
async def test_a_page_that_is_not_a_picture_or_a_file_too_large_is_refused(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    await wang.send_image(b"<html>not a picture</html>", content_type="text/html")
    await wang.send_image(b"\xff\xd8" + b"\x00" * (1024 * 1024 + 1))
    assert await _fetcher(stack, max_bytes=1024 * 1024).run_once() == 2
    page, large = await _photos(stack)
    assert (page.status, page.error) == (PhotoStatus.failed, "微信返回的不是图片（text/html），未保存")
    assert (large.status, large.error, large.data) == (PhotoStatus.failed, "照片超过 1 MB，未保存", None)


@fetcher_runs_late
async def test_two_fetchers_sharing_the_database_fetch_each_photo_once(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    for i in range(6):
        await wang.send_image(JPEG + bytes([i]))
    one, two = _fetcher(stack, batch=3), _fetcher(stack, batch=3)
    await asyncio.gather(one.run_once(), two.run_once(), one.run_once(), two.run_once())
    photos = await _photos(stack)
    assert [p.status for p in photos] == [PhotoStatus.stored] * 6
    assert [p.data for p in photos] == [JPEG + bytes([i]) for i in range(6)]
    calls = stack.emulator.calls("media/get")
    assert sorted(c.args["media_id"] for c in calls) == sorted(p.media_id for p in photos)


@fetcher_runs_late
async def test_a_token_wechat_has_expired_is_refreshed_once_and_the_photo_still_fetched(
    stack: Stack, roster: Roster
) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    await _meeting(stack, roster, ended_ago=timedelta(minutes=20))
    await wang.send_image(JPEG)
    assert await _fetcher(stack).run_once() == 1
    await wang.send_image(JPEG2)
    stack.emulator.advance_clock(7201)  # the token our database holds has run out at WeChat
    assert await _fetcher(stack).run_once() == 1
    assert [p.data for p in await _photos(stack)] == [JPEG, JPEG2]
    assert [c.errcode for c in stack.emulator.calls("media/get")] == [None, 42001, None]
