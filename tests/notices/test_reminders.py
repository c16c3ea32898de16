"""A member who has not answered 收到 four hours after a notice gets a reminder, at most twice; then the
branch secretary gets the names. Time passes by backdating the outbox, as if the notice had gone out
hours ago; the job runs directly and the service's own dispatcher sends what it wrote."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.settings import SettingsError, load_settings
from models import AuditEntry, Delivery, Notice, Role, RoleKind
from models.delivery import CLAIMED, OPEN_STATUSES, DeliveryStatus, Purpose
from models.reminders import ReminderCounts, missing_list_text
from schedules.reminders import send_due_reminders
from schedules.scheduler import build_scheduler
from tests.framing import body
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack, running_stack

TEXT = "今晚防汛值班，请党员19点到社区集合，带好雨具和手电"
MEETING = "周六上午九点在社区活动室召开支部党员大会，请准时参加，不能参加的请提前请假"
AFTER = timedelta(hours=4)
NOTHING = "目前没有需要您确认的通知。回复“帮助”查看可用指令。"


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str) -> AsyncIterator[Stack]:
    """No quiet hours for sending the notices themselves (each test passes the job its own window); the
    service's reminder tick is far off, so only the test runs the job."""
    async with running_stack(database_url, quiet_hours="", dispatch_idle=0.1, remind_every_seconds=3600) as running:
        yield running


async def _members(stack: Stack) -> None:
    """李党员 binds the Official Account; 赵党员 and 王书记 are linked on WeCom by their first message."""
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content
    await stack.phone("work", "zhaody").send_text("你好")


async def _send_notice(stack: Stack, text: str, *, urgent: bool = False) -> int:
    """王书记 sends a notice wanting 收到 to the members of 阳光社区 (himself, 李党员, 赵党员)."""
    wang = stack.phone("work", "wangshuji")
    for answer in (f"通知：{text}", "1", "好", "2" if urgent else "1", "是", "无"):
        await wang.send_text(answer)
    assert "已确认" in (await wang.send_text("确认")).content
    async with stack.sessions() as s:
        notice_id = (await s.exec(select(Notice.id).where(Notice.text == text))).one()
    await _settled(stack)
    return notice_id  # type: ignore[return-value]


async def _settled(stack: Stack, within: float = 10.0) -> None:
    """Polls until the dispatcher has settled every outbox row."""
    unsettled = (*OPEN_STATUSES, *CLAIMED)
    for _ in range(int(within / 0.05)):
        async with stack.sessions() as s:
            query = select(func.count()).select_from(Delivery).where(col(Delivery.status).in_(unsettled))
            if (await s.exec(query)).one() == 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("deliveries not settled in time")


async def _hours_pass(stack: Stack, hours: float) -> None:
    """As if every message so far had gone out `hours` earlier."""
    async with stack.sessions() as s:
        for row in await s.exec(select(Delivery)):
            row.next_attempt_at -= timedelta(hours=hours)
            if row.sent_at is not None:
                row.sent_at -= timedelta(hours=hours)
            s.add(row)
        await s.commit()


async def _tick(stack: Stack, *, quiet_window: tuple[time, time] | None = None, max_rounds: int = 2) -> ReminderCounts:
    """One run of the job, then the dispatcher sends what it wrote."""
    counts = await send_due_reminders(
        stack.sessions, after=AFTER, max_rounds=max_rounds, quiet_window=quiet_window, tz=stack.settings.tz
    )
    await _settled(stack)
    return counts


def _texts(stack: Stack, platform: str, user: str) -> list[str]:
    return [body(m.content) for m in stack.emulator.messages(platform, user) if m.delivered]


def _reminder(notice_id: int, text: str, lead: str = "【提醒】") -> str:
    snippet = text if len(text) <= 40 else text[:40] + "…"
    return f"{lead}第 {notice_id} 号通知您还未确认：{snippet}\n请回复“收到 {notice_id}”确认。"


async def _rows(stack: Stack, purpose: Purpose) -> list[Delivery]:
    async with stack.sessions() as s:
        query = select(Delivery).where(Delivery.purpose == purpose).order_by(col(Delivery.id))
        return list(await s.exec(query))


async def _audits(stack: Stack) -> list[AuditEntry]:
    async with stack.sessions() as s:
        return list(await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.remind")))


def _quiet_now(stack: Stack) -> tuple[time, time]:
    """A quiet window around the present moment, whatever the time of day the test runs."""
    local = datetime.now(stack.settings.tz)
    return (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()


async def test_a_member_who_has_not_answered_is_reminded_after_four_hours_not_before(
    stack: Stack, roster: Roster
) -> None:
    await _members(stack)
    notice_id = await _send_notice(stack, TEXT)
    assert _texts(stack, "mp", "o_li") == [TEXT]

    await _hours_pass(stack, 3.9)
    assert await _tick(stack) == ReminderCounts()
    assert _texts(stack, "mp", "o_li") == [TEXT]

    await _hours_pass(stack, 0.2)
    assert await _tick(stack) == ReminderCounts(reminders=3)
    assert _texts(stack, "mp", "o_li") == [TEXT, _reminder(notice_id, TEXT)]
    assert _texts(stack, "work", "zhaody")[-1] == _reminder(notice_id, TEXT)
    [li_row] = [r for r in await _rows(stack, Purpose.reminder) if r.person_id == roster.people["li"].id]
    assert (li_row.round, li_row.channel, li_row.status) == (1, "mp_custom", DeliveryStatus.sent)
    [audit] = await _audits(stack)
    assert audit.detail == {"reminders": 3, "missing_lists": 0, "unreachable": 0}


async def test_a_member_who_answered_is_never_reminded(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    notice_id = await _send_notice(stack, TEXT)
    assert (await stack.phone("mp", "o_li").send_text("收到")).content == f"已确认收到第 {notice_id} 号通知。"

    for _ in range(3):
        await _hours_pass(stack, 5)
        await _tick(stack)
    assert _texts(stack, "mp", "o_li") == [TEXT]
    reminded = {r.person_id for r in await _rows(stack, Purpose.reminder)}
    assert reminded == {roster.people["wang"].id, roster.people["zhao"].id}
    # 王书记's list names 赵党员 only: 李党员 answered, and 王书记 himself goes one level up.
    [listed] = await _rows(stack, Purpose.missing_list)
    assert listed.person_id == roster.people["wang"].id and "赵党员" in (listed.body or "")
    assert "李党员" not in (listed.body or "")


async def test_at_most_two_reminders_then_the_branch_secretary_gets_the_names(stack: Stack, roster: Roster) -> None:
    async with stack.sessions() as s:  # 何书记 is also the secretary of 朝阳街道, above 王书记
        s.add(Role(person_id=roster.people["he"].id, org_id=roster.orgs["S01"].id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        await s.commit()
    he = stack.phone("mp", "o_he")
    assert "绑定成功" in (await he.send_text("绑定 HE2345")).content
    await _members(stack)
    notice_id = await _send_notice(stack, MEETING)

    await _hours_pass(stack, 4.5)
    assert (await _tick(stack)).reminders == 3
    await _hours_pass(stack, 4.5)
    assert (await _tick(stack)).reminders == 3
    assert _texts(stack, "mp", "o_li") == [
        MEETING,
        _reminder(notice_id, MEETING),
        _reminder(notice_id, MEETING, "【再次提醒】"),
    ]

    await _hours_pass(stack, 3.9)
    assert await _tick(stack) == ReminderCounts()  # the second reminder is not four hours old yet
    await _hours_pass(stack, 0.2)
    assert await _tick(stack) == ReminderCounts(missing_lists=2)
    snippet = MEETING[:20] + "…"
    assert _texts(stack, "work", "wangshuji")[-1] == (
        f"第 {notice_id} 号通知“{snippet}”：以下党员两次提醒后仍未确认收到：李党员、赵党员。请电话联系。"
    )
    assert _texts(stack, "mp", "o_he") == [
        f"第 {notice_id} 号通知“{snippet}”：以下党员两次提醒后仍未确认收到：王书记。请电话联系。"
    ]

    for _ in range(2):  # no third reminder, no second list
        await _hours_pass(stack, 24)
        assert await _tick(stack) == ReminderCounts()
    assert len(_texts(stack, "mp", "o_li")) == 3
    assert len(await _audits(stack)) == 3
    # The list is not a notice to 何书记: his 收到 has nothing to confirm.
    assert (await he.send_text("收到")).content == NOTHING


async def test_running_the_job_twice_at_once_writes_one_reminder(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    notice_id = await _send_notice(stack, TEXT)
    await _hours_pass(stack, 5)

    args = {"after": AFTER, "max_rounds": 2, "quiet_window": None, "tz": stack.settings.tz}
    first, second = await asyncio.gather(
        send_due_reminders(stack.sessions, **args), send_due_reminders(stack.sessions, **args)
    )
    again = await send_due_reminders(stack.sessions, **args)
    await _settled(stack)

    assert first.reminders + second.reminders == 3 and again == ReminderCounts()
    assert len(await _rows(stack, Purpose.reminder)) == 3
    assert _texts(stack, "mp", "o_li") == [TEXT, _reminder(notice_id, TEXT)]
    assert len(await _audits(stack)) in (1, 2)  # one per run that wrote something, never for `again`
    assert sum(a.detail["reminders"] for a in await _audits(stack)) == 3


async def test_quiet_hours_hold_a_normal_notices_reminder_but_not_an_urgent_ones(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    meeting = await _send_notice(stack, MEETING)
    flood = await _send_notice(stack, TEXT, urgent=True)
    await _hours_pass(stack, 5)

    assert (await _tick(stack, quiet_window=_quiet_now(stack))).reminders == 3
    assert _texts(stack, "mp", "o_li")[2:] == [_reminder(flood, TEXT)]
    assert {r.subject_id for r in await _rows(stack, Purpose.reminder)} == {flood}

    assert (await _tick(stack, quiet_window=None)).reminders == 3  # the morning
    assert _texts(stack, "mp", "o_li")[3:] == [_reminder(meeting, MEETING)]


async def test_after_a_reminder_shou_dao_still_confirms_the_notice(stack: Stack, roster: Roster) -> None:
    await _members(stack)
    notice_id = await _send_notice(stack, TEXT)
    await _hours_pass(stack, 5)
    await _tick(stack)
    li = stack.phone("mp", "o_li")
    assert _texts(stack, "mp", "o_li")[-1] == _reminder(notice_id, TEXT)

    assert (await li.send_text("收到")).content == f"已确认收到第 {notice_id} 号通知。"
    assert (await li.send_text(f"收到 {notice_id}")).content == f"您已确认过第 {notice_id} 号通知。"
    await _hours_pass(stack, 5)
    assert (await _tick(stack)).reminders == 2  # 王书记 and 赵党员 only
    assert len(_texts(stack, "mp", "o_li")) == 2


def test_reminder_settings_have_bounds() -> None:
    settings = load_settings()
    assert (settings.remind_after_hours, settings.remind_max, settings.remind_every_seconds) == (4, 2, 60)
    for bad in ({"remind_after_hours": 0}, {"remind_max": 6}, {"remind_max": -1}, {"remind_every_seconds": 0}):
        with pytest.raises(SettingsError):
            load_settings(**bad)


def test_the_scheduler_runs_the_reminder_job_every_minute_and_the_task_deadlines_every_five() -> None:
    scheduler = build_scheduler(sessions=None, timezone="Asia/Shanghai", remind_every_seconds=60)  # type: ignore[arg-type]
    job = scheduler.get_job("send-due-reminders")
    assert job is not None and job.trigger.interval == timedelta(seconds=60)
    assert job.max_instances == 1 and job.coalesce
    assert scheduler.get_job("prune-old-records") is not None
    assert job.kwargs["after"] == AFTER and job.kwargs["max_rounds"] == 2
    deadlines = scheduler.get_job("check-task-deadlines")
    assert deadlines is not None and deadlines.trigger.interval == timedelta(minutes=5)
    assert deadlines.max_instances == 1 and deadlines.coalesce


async def test_the_service_reminds_by_itself(engine: AsyncEngine, database_url: str) -> None:
    """The app's own scheduler runs the job: here every second, one reminder one second after the notice."""
    overrides = {"quiet_hours": "", "dispatch_idle": 0.1, "remind_every_seconds": 1, "remind_after_hours": 1 / 3600,
                 "remind_max": 1}
    async with running_stack(database_url, **overrides) as running:
        await seed_small_roster(running.sessions)
        await _members(running)
        notice_id = await _send_notice(running, TEXT)
        await running.emulator.wait_for_messages("mp", "o_li", count=2, within=10)
        assert _texts(running, "mp", "o_li") == [TEXT, _reminder(notice_id, TEXT)]
        await running.emulator.wait_for_messages("work", "wangshuji", count=3, within=10)
        listed = _texts(running, "work", "wangshuji")[-1]
        assert listed.endswith("：以下党员一次提醒后仍未确认收到：李党员、赵党员。请电话联系。")


def test_a_long_list_names_twenty_and_counts_the_rest() -> None:
    names = [f"党员{i}" for i in range(25)]
    text = missing_list_text(7, "短通知", names, max_rounds=2, all_members=True)
    assert text == f"第 7 号通知“短通知”：以下党员两次提醒后仍未确认收到：{'、'.join(names[:20])}等 25 人。请电话联系。"


async def test_a_member_who_unfollowed_is_listed_to_the_branch_secretary_on_time(stack: Stack, roster: Roster) -> None:
    """李党员 got the notice, then unfollowed the Official Account: no reminder can reach him, but the
    rounds pass all the same and his branch secretary hears of him with the others, marked to call."""
    await _members(stack)
    notice_id = await _send_notice(stack, MEETING)
    await stack.phone("mp", "o_li").send_event("unsubscribe")

    await _hours_pass(stack, 4.5)
    assert await _tick(stack) == ReminderCounts(reminders=2, unreachable=1)
    await _hours_pass(stack, 4.5)
    assert await _tick(stack) == ReminderCounts(reminders=2, unreachable=1)
    assert _texts(stack, "mp", "o_li") == [MEETING]  # nothing more reached him
    li_rounds = [r for r in await _rows(stack, Purpose.reminder) if r.person_id == roster.people["li"].id]
    assert [(r.round, r.status) for r in li_rounds] == [(1, DeliveryStatus.failed), (2, DeliveryStatus.failed)]
    assert all(r.reason == "微信已无法送达（已取消关注或已解绑），提醒未能发出" for r in li_rounds)

    await _hours_pass(stack, 4.5)
    await _tick(stack)
    assert _texts(stack, "work", "wangshuji")[-1] == (
        f"第 {notice_id} 号通知“{MEETING[:20]}…”：以下党员两次提醒后仍未确认收到："
        "李党员（微信已无法送达）、赵党员。请电话联系。"
    )
