"""Reminders of a meeting: the day before at 09:00 and 2 h before, never in quiet hours, never after
the start; a meeting created at short notice gets one reminder at once, and it reaches the member's
phone through the outbox saying what, when, where and how to answer. The tick queues each reminder
once, whatever the number of ticks and instances."""

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from models import Delivery, Organisation
from models.delivery import CLAIMED, OPEN_STATUSES, Purpose
from models.meeting import MeetingKind, create_meetings, plan_meetings
from models.meeting_reminders import ANSWERED_REASON, STALE_REASON, Offset, parse_offsets, reminder_times
from models.workdays import WorkCalendar
from schedules.meetings import queue_meeting_reminders
from tests.notices.test_progress import _send_urgent_notice
from tests.seed import Roster
from tests.stack import Stack

TZ = ZoneInfo("Asia/Shanghai")
QUIET = (time(21, 30), time(7, 30))


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def test_the_day_before_at_nine_and_two_hours_before() -> None:
    assert reminder_times(_at(15, 19, 30), _at(10, 10), QUIET) == [(1, _at(14, 9)), (2, _at(15, 17, 30))]


def test_created_at_short_notice_one_reminder_now_and_none_once_it_has_started() -> None:
    assert reminder_times(_at(15, 19, 30), _at(15, 18), QUIET) == [(2, _at(15, 18))]
    assert reminder_times(_at(15, 19, 30), _at(15, 10), QUIET) == [(2, _at(15, 17, 30))]  # round 1 is past
    assert reminder_times(_at(15, 19, 30), _at(15, 19, 31), QUIET) == []


def test_quiet_hours_move_a_reminder_to_their_end_but_not_past_the_start() -> None:
    # An 08:00 meeting: 2 h before is 06:00, in the quiet hours: 07:30 instead.
    assert reminder_times(_at(16, 8), _at(15, 22), QUIET) == [(2, _at(16, 7, 30))]
    assert reminder_times(_at(16, 7, 15), _at(15, 22), QUIET) == []  # 07:30 would be after the start


async def _meeting(stack: Stack, roster: Roster, starts: datetime) -> int:
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert branch is not None
        plan = await plan_meetings(session=s, kind=MeetingKind.group, org=branch, title="学习党章", starts_at=starts,
                                   minutes=60, place="社区会议室", topic="学习新党章", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def _reminder_rows(stack: Stack, meeting_id: int) -> list[tuple[int, int]]:
    async with stack.sessions() as s:
        return sorted((await s.exec(select(col(Delivery.person_id), col(Delivery.round)).where(
            Delivery.subject_kind == "meeting", Delivery.subject_id == meeting_id,
            Delivery.purpose == Purpose.meeting_reminder))).all())


async def test_a_meeting_within_the_hour_is_reminded_at_once_and_the_member_reads_it(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in ((await li.send_text("绑定 LI2345")).content or "")
    now = datetime.now(TZ)
    meeting_id = await _meeting(stack, roster, now + timedelta(minutes=50))
    # Quiet hours left out: the test runs at any hour (their effect is checked above).
    written = await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None)
    assert written == 2  # 李党员 and 赵党员 (WeCom, from the roster)
    assert await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None) == 0  # once
    received = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    assert received, "the reminder did not reach the phone"
    text = received[-1].content
    assert f"【会议提醒 · 第{meeting_id}号】阳光社区第一党支部" in text
    assert "学习党章" in text and "地点：社区会议室" in text and "议题：学习新党章" in text
    assert "请回复“参加”或“请假 理由”" in text
    # The reminder is answered as it asks.
    assert (await li.send_text("参加")).content.startswith(f"已记为参加：第 {meeting_id} 号：")  # type: ignore[union-attr]


async def test_the_tick_queues_both_rounds_a_day_ahead_once_however_often_it_runs(stack: Stack, roster: Roster) -> None:
    await stack.phone("mp", "o_li").send_text("绑定 LI2345")  # reachable; 赵党员 through the roster's WeCom account
    starts = (datetime.now(TZ) + timedelta(days=10)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_id = await _meeting(stack, roster, starts)
    early = starts - timedelta(days=5)
    assert await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=QUIET, now=early) == 0  # too far off
    eve = datetime.combine(starts.date() - timedelta(days=1), time(8, 0), tzinfo=TZ)
    for _ in range(3):
        await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=QUIET, now=eve)
    members = sorted(p.id for p in (roster.people["li"], roster.people["zhao"]))  # type: ignore[type-var]
    assert await _reminder_rows(stack, meeting_id) == sorted((p, r) for p in members for r in (1, 2))
    async with stack.sessions() as s:
        due = (await s.exec(select(func.min(Delivery.next_attempt_at)).where(
            Delivery.subject_id == meeting_id, Delivery.round == 1))).one()
    assert due is not None and due.astimezone(TZ) == datetime.combine(eve.date(), time(9, 0), tzinfo=TZ)


async def test_a_reminder_that_fell_due_while_the_service_was_down_is_not_sent_once_the_meeting_started(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    starts = datetime.now(TZ) - timedelta(minutes=10)  # under way: began ten minutes ago, lasts an hour
    meeting_id = await _meeting(stack, roster, starts)
    # The tick ran three hours before the start; the service was down when the reminder fell due.
    assert await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None,
                                         now=starts - timedelta(hours=3)) == 2
    for _ in range(50):
        async with stack.sessions() as s:
            rows = (await s.exec(select(Delivery).where(Delivery.subject_id == meeting_id,
                                                        Delivery.subject_kind == "meeting"))).all()
        if all(r.status == "failed" for r in rows):
            break
        await asyncio.sleep(0.1)
    assert [(r.status, r.reason, r.attempts) for r in rows] == [("failed", STALE_REASON, 0)] * 2
    assert not [m for m in await stack.emulator.wait_for_messages("mp", "o_li", within=0.3)
                if "会议提醒" in m.content]


async def test_two_meetings_on_one_day_reach_the_member_in_one_message(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "zhaody")
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    now = datetime.now(TZ)
    first = await _meeting(stack, roster, now + timedelta(minutes=50))
    second = await _meeting(stack, roster, now + timedelta(minutes=100))
    assert await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None, now=now) == 4  # two each
    for platform, user in (("mp", "o_li"), ("work", "zhaody")):
        received = await stack.emulator.wait_for_messages(platform, user, within=5)
        # A second message, if one were sent, would be in by now.
        received = await stack.emulator.wait_for_messages(platform, user, count=2, within=0.5)
        assert len(received) == 1, [m.content for m in received]
        text = received[-1].content
        assert text.startswith("您有 2 个会议：") and text.count("【会议提醒") == 2
        assert text.index(f"第{first}号") < text.index(f"第{second}号")
        assert text.endswith("请回复“参加 编号”或“请假 编号 理由”。") and text.count("请回复") == 1
    async with stack.sessions() as s:
        rows = (await s.exec(select(Delivery).where(Delivery.purpose == Purpose.meeting_reminder))).all()
    assert {r.status for r in rows} == {"sent"} and len({r.digest_id for r in rows}) == 2  # one per person
    asked = (await li.send_text("参加")).content or ""
    assert asked.startswith("您有几个会议需要回复")


async def _urgent_notice(stack: Stack, _roster: Roster) -> int:
    return await _send_urgent_notice(stack)


async def _settled(stack: Stack) -> None:
    """Every outbox row settled (sent, or failed and fallen back)."""
    for _ in range(50):
        async with stack.sessions() as s:
            if not (await s.exec(select(func.count()).select_from(Delivery).where(
                    col(Delivery.status).in_((*OPEN_STATUSES, *CLAIMED))))).one():
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not settle in time")


async def test_a_bare_ok_answers_the_last_question_the_bot_asked(stack: Stack, roster: Roster) -> None:
    """李党员 gets a notice wanting 收到 and then a meeting reminder: his 好的 is 参加 (the reminder was
    the last question), and the answer says so; his next 好的 confirms the notice, which still waits."""
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    notice_id = await _urgent_notice(stack, roster)
    await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    await asyncio.sleep(0.05)  # the reminder goes out after the notice
    meeting_id = await _meeting(stack, roster, datetime.now(TZ) + timedelta(minutes=50))
    await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None)
    await stack.emulator.wait_for_messages("mp", "o_li", count=2, within=5)
    await _settled(stack)

    first = (await li.send_text("好的")).content or ""
    assert first.startswith(f"已记为参加：第 {meeting_id} 号：") and "（您回复的“好的”按“参加”登记" in first
    second = (await li.send_text("1")).content or ""
    assert second == f"已确认收到第 {notice_id} 号通知。"
    assert ((await li.send_text("好的")).content or "").startswith("没看懂")  # nothing asked any more


async def test_a_bare_ok_after_a_notice_that_came_after_the_reminder_confirms_the_notice(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster, datetime.now(TZ) + timedelta(minutes=50))
    await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None)
    await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    await _settled(stack)
    await asyncio.sleep(0.05)
    notice_id = await _urgent_notice(stack, roster)
    await stack.emulator.wait_for_messages("mp", "o_li", count=2, within=5)
    await _settled(stack)
    assert (await li.send_text("ok")).content == f"已确认收到第 {notice_id} 号通知。"
    answer = (await li.send_text("好")).content or ""
    assert answer.startswith(f"已记为参加：第 {meeting_id} 号：")


async def test_the_later_reminder_goes_only_to_those_who_have_not_replied(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "zhaody")
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster, datetime.now(TZ) + timedelta(minutes=50))
    assert (await li.send_text("参加")).content.startswith("已记为参加")  # type: ignore[union-attr]
    assert await queue_meeting_reminders(stack.sessions, tz=TZ, quiet_window=None) == 2  # round 2, both
    received = await stack.emulator.wait_for_messages("work", "zhaody", within=5)
    assert any(f"【会议提醒 · 第{meeting_id}号】" in m.content for m in received)
    await _settled(stack)
    async with stack.sessions() as s:
        rows = {r.person_id: r for r in (await s.exec(select(Delivery).where(
            Delivery.purpose == Purpose.meeting_reminder))).all()}
    assert (rows[roster.people["li"].id].status, rows[roster.people["li"].id].reason) == (  # type: ignore[index]
        "failed", ANSWERED_REASON)
    assert rows[roster.people["zhao"].id].status == "sent"  # type: ignore[index]
    assert not [m for m in await stack.emulator.wait_for_messages("mp", "o_li", within=0.2) if "会议提醒" in m.content]


def test_the_offsets_are_configurable_and_a_bad_setting_says_what_is_wrong() -> None:
    offsets = parse_offsets("2h,2d@18:00,30m")
    assert offsets == (Offset(days=2, at=time(18, 0)), Offset(before=timedelta(hours=2)),
                       Offset(before=timedelta(minutes=30)))  # earliest first
    assert reminder_times(_at(15, 19, 30), _at(10, 10), None, offsets) == [
        (1, _at(13, 18)), (2, _at(15, 17, 30)), (3, _at(15, 19))]
    assert reminder_times(_at(15, 19, 30), _at(15, 19, 10), None, offsets) == [(3, _at(15, 19, 10))]  # short notice
    for bad in ("tomorrow", "0d@09:00", "1d@25:00", "1m", ""):
        with pytest.raises(ValueError):
            parse_offsets(bad)
