"""开会 in the chat: 王书记 writes the whole meeting in one message, reads the preview (how many are
invited) and confirms, and 李党员 gets the 会议通知; with `开会` alone he is asked one thing at a time;
a monthly 主题党日 whose first date falls on New Year's Day 2027 moves to the next working day once the
year's holidays are loaded, and the preview says so; a time already past is refused."""

from datetime import date, datetime, timedelta

from sqlmodel import select

from handlers.meeting_create import ONLY_SECRETARIES, QUESTIONS
from handlers.meeting_words import read_meeting
from models import AuditEntry, Meeting
from models.meeting import MeetingKind
from models.meeting_dates import Every, Repeat
from models.official_days import replace_official_years
from tests.seed import Roster
from tests.stack import Stack


def test_the_parts_of_a_meeting_in_one_message() -> None:
    now = datetime(2026, 12, 5, 10, 0)
    words = read_meeting("党小组会 第一党小组 12月28日19:30 活动室 学习新党章 90分钟", now, ["第一党小组"])
    assert (words.kind, words.group, words.day, str(words.at), words.minutes, words.rest) == (
        MeetingKind.group, "第一党小组", date(2026, 12, 28), "19:30:00", 90, ["活动室", "学习新党章"])
    series = read_meeting("主题党日 每月第三个周二 19:30 会议室 至2027年6月30日", now)
    assert series.repeat == Repeat(Every.month, weekday=2, nth=3, until=date(2027, 6, 30))
    evening = read_meeting("党课 明天 晚上7点半 会议室", now)
    assert (evening.day, str(evening.at)) == (date(2026, 12, 6), "19:30:00")
    assert read_meeting("支委会 12月1日 9:00", now).past


async def _bound(stack: Stack) -> None:
    await stack.phone("mp", "o_wang").send_text("绑定 WANG23")
    await stack.phone("mp", "o_li").send_text("绑定 LI2345")


async def test_a_meeting_in_one_message_is_previewed_confirmed_and_announced(stack: Stack, roster: Roster) -> None:
    await _bound(stack)
    wang = stack.phone("mp", "o_wang")
    day = (datetime.now(stack.settings.tz) + timedelta(days=10)).date()
    written = f"开会 主题党日 {day.month}月{day.day}日 19:30 社区会议室 志愿服务进小区"
    preview = (await wang.send_text(written)).content or ""
    lines = preview.split("\n")
    assert lines[0] == "请核对会议：" and lines[1] == "类型：主题党日（阳光社区）"
    assert lines[2].startswith(f"时间：{day.month}月{day.day}日（周") and lines[2].endswith("19:30，约90分钟")
    assert "地点：社区会议室" in lines and "议题：志愿服务进小区" in lines and "参会：3 人" in lines
    assert lines[-1].startswith("回复“确认”创建并通知参会人员")
    # A change before confirming: the place.
    changed = (await wang.send_text("地点改为党群服务中心")).content or ""
    assert "地点：党群服务中心" in changed and changed.startswith("请核对会议：")

    done = (await wang.send_text("确认")).content or ""
    async with stack.sessions() as s:
        meeting = (await s.exec(select(Meeting))).one()
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.create"))).one()
    assert done.startswith(f"已创建第 {meeting.id} 号会议：") and "已通知 " in done
    assert meeting.kind == MeetingKind.party_day and meeting.place == "党群服务中心"
    assert audit.detail["attendees"] == 3
    told = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    notice = next(m.content for m in told if "【会议通知" in m.content)
    assert notice.startswith(f"【会议通知 · 第{meeting.id}号】阳光社区") and "请回复“参加”或“请假 理由”" in notice
    assert ((await stack.phone("mp", "o_li").send_text("参加")).content or "").startswith("已记为参加")


async def test_kaihui_alone_asks_one_thing_at_a_time_and_can_be_called_off(stack: Stack, roster: Roster) -> None:
    await _bound(stack)
    wang = stack.phone("mp", "o_wang")
    assert (await wang.send_text("开会")).content == "安排阳光社区的会议。\n" + QUESTIONS["kind"]
    assert (await wang.send_text("党课")).content == QUESTIONS["when"]
    assert (await wang.send_text("明天晚上7点半")).content == QUESTIONS["place"]
    assert (await wang.send_text("党群服务中心")).content == QUESTIONS["topic"]
    preview = (await wang.send_text("无")).content or ""
    assert preview.startswith("请核对会议：\n类型：党课（阳光社区）") and "议题" not in preview
    assert (await wang.send_text("取消")).content == "已取消，会议没有创建。"
    async with stack.sessions() as s:
        assert (await s.exec(select(Meeting))).all() == []
    assert (await stack.phone("mp", "o_li").send_text("开会")).content == ONLY_SECRETARIES


async def test_a_time_already_past_is_asked_again(stack: Stack, roster: Roster) -> None:
    await _bound(stack)
    wang = stack.phone("mp", "o_wang")
    past = (datetime.now(stack.settings.tz) - timedelta(days=3)).date()
    answer = (await wang.send_text(f"开会 支委会 {past.month}月{past.day}日 19:30 会议室 研究")).content or ""
    assert answer.startswith("这个时间已经过去，请回复以后的时间。\n") and answer.endswith(QUESTIONS["when"])


async def test_a_monthly_series_moves_off_new_years_day_once_the_holidays_are_loaded(
    stack: Stack, roster: Roster
) -> None:
    await _bound(stack)
    wang = stack.phone("mp", "o_wang")
    series = "开会 主题党日 每月1日 2027年1月1日 19:30 会议室 志愿服务 至2027年3月31日"
    before = (await wang.send_text(series)).content or ""
    assert "时间：共 3 次，1月1日（周五）19:30" in before
    assert "注意：2027 年的法定节假日尚未公布，暂按周一至周五排期。" in before
    await wang.send_text("取消")
    async with stack.sessions() as s:
        await replace_official_years(session=s, days={date(2027, 1, 1): (False, "元旦"),
                                                      date(2027, 1, 2): (False, "元旦"),
                                                      date(2027, 1, 3): (False, "元旦")})
        await s.commit()
    after = (await wang.send_text(series)).content or ""
    assert "调整：1月1日是元旦，顺延到 1月4日" in after and "尚未公布" not in after
    assert "时间：共 3 次，1月4日（周一）19:30、2月1日（周一）19:30、3月1日（周一）19:30" in after
