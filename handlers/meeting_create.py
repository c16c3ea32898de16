"""`开会`: a secretary creates a meeting in the chat — in one message (`开会 党小组会 12月28日 19:30
党群服务中心 学习新党章`) or, with `开会` alone or parts missing, one short question at a time — sees a
preview (the dates, those moved by a holiday and why, how many are invited) and answers `确认`. The
meeting is for the secretary's organisation (a 党小组会 for one of its groups); its attendees are told
at once, and reminded the day before and 2 hours before (models/meeting_reminders.py)."""

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import select

from handlers.confirm_step import CANCEL_WORDS, CONFIRM_WORDS, in_conversation
from handlers.context import Context, Inbound
from handlers.meeting_words import merge, read_meeting, repeat_of
from handlers.routing import HelpBook, Router, pass_on
from handlers.text import flat, written_after
from models.audience import load_recipients
from models.audit import record_audit
from models.conversation import Conversation, end_conversation, open_conversation, start_conversation
from models.delivery import Purpose
from models.meeting import KIND_NAMES, Meeting, MeetingKind, MeetingPlan, create_meetings, plan_meetings
from models.meeting_dates import HolidayPolicy, unknown_years
from models.meeting_reminders import queue_due_reminders, reminder_body
from models.message_frame import when_words
from models.official_days import load_official_days
from models.organisation import Organisation, OrgLevel
from models.outbox import queue_messages
from models.quiet_hours import not_before
from models.subject import Subject, SubjectKind
from models.typed import id_of
from models.workdays import WorkCalendar

router = Router("meeting_create")
KIND = "meeting"
ONLY_SECRETARIES = "只有书记、副书记和管理员可以安排会议。"
EXPIRED = "上次的“开会”已超过30分钟未操作，已自动结束，需要时请重新回复“开会”。"
DEFAULT_MINUTES = 90
SHOWN_DATES = 6
KIND_MENU = "、".join(KIND_NAMES[k] for k in MeetingKind if k != MeetingKind.other)
QUESTIONS = {
    "kind": f"开什么会？请回复会议类型：{KIND_MENU}（或“其他”）。",
    "group": "哪个党小组？请回复：{groups}",
    "when": "什么时间开？如“12月28日 19:30”“明天晚上7点半”“下周三 19:30”；每月固定的会可回复“每月15日 19:30”。",
    "place": "在哪里开？请回复地点，如“党群服务中心二楼会议室”。",
    "topic": "会议议题是什么？请简要回复（没有可回复“无”）。",
}
NO_TOPIC = ("无", "没有", "暂无", "不用", "略")


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


async def _groups(ctx: Context, org_id: int) -> list[Organisation]:
    """The groups of the secretary's branch (a 党小组会 is one group's)."""
    return list((await ctx.session.exec(select(Organisation).where(
        Organisation.parent_id == org_id, Organisation.level == OrgLevel.group).order_by(Organisation.path))).all())


def _next_step(data: dict[str, Any], groups: list[Organisation]) -> str:
    if not data.get("kind"):
        return "kind"
    if data["kind"] == MeetingKind.group.value and groups and not data.get("group_org_id"):
        return "group"
    if not data.get("at") or (not data.get("day") and not data.get("repeat")):
        return "when"
    if not data.get("place"):
        return "place"
    if "topic" not in data:
        return "topic"
    return "confirm"


def _question(step: str, groups: list[Organisation]) -> str:
    if step == "group":
        return QUESTIONS["group"].format(groups="、".join(g.name for g in groups))
    return QUESTIONS[step]


async def _plan(ctx: Context, data: dict[str, Any]) -> MeetingPlan:
    org = await ctx.session.get(Organisation, data["org_id"])
    group = await ctx.session.get(Organisation, data["group_org_id"]) if data.get("group_org_id") else None
    assert org is not None
    tz = ctx.now.tzinfo
    day = date.fromisoformat(data["day"]) if data.get("day") else ctx.now.date()
    starts = datetime.combine(day, time.fromisoformat(data["at"]), tzinfo=tz)
    calendar = WorkCalendar(await load_official_days(session=ctx.session))
    kind = MeetingKind(data["kind"])
    return await plan_meetings(session=ctx.session, kind=kind, org=org, group=group,
                               title=KIND_NAMES[kind] if kind != MeetingKind.other else "会议", starts_at=starts,
                               minutes=int(data.get("minutes") or DEFAULT_MINUTES), place=data.get("place", ""),
                               topic=data.get("topic", ""), repeat=repeat_of(data), policy=HolidayPolicy.next_workday,
                               work_calendar=calendar)


def _preview(plan: MeetingPlan, ctx: Context) -> str:
    tz = ctx.now.tzinfo
    where = plan.group.name if plan.group is not None else plan.org.name
    lines = ["请核对会议：", f"类型：{KIND_NAMES[plan.kind]}（{where}）"]
    dates = [plan.starts(p) for p in plan.dates]
    if len(dates) == 1:
        lines.append(f"时间：{when_words(dates[0], tz)}，约{plan.minutes}分钟")
    else:
        shown = "、".join(when_words(d, tz) for d in dates[:SHOWN_DATES])
        more = " 等" if len(dates) > SHOWN_DATES else ""
        lines.append(f"时间：共 {len(dates)} 次，{shown}{more}；每次约{plan.minutes}分钟")
    for placed in plan.dates:
        if placed.moved_from is not None:
            lines.append(f"调整：{placed.moved_from.month}月{placed.moved_from.day}日是{placed.holiday or '节假日'}，"
                         f"顺延到 {placed.day.month}月{placed.day.day}日")
    lines.append(f"地点：{plan.place}")
    if plan.topic:
        lines.append(f"议题：{plan.topic}")
    lines.append(f"参会：{len(plan.attendees)} 人")
    if years := unknown_years(plan.dates):
        lines.append(f"注意：{'、'.join(map(str, years))} 年的法定节假日尚未公布，暂按周一至周五排期。")
    if dates and dates[0] <= ctx.now:
        lines.append("这个时间已经过去，请回复新的时间。")
    else:
        lines.append("回复“确认”创建并通知参会人员，回复“取消”放弃，或直接回复要修改的内容（如新的时间、地点）。")
    return "\n".join(lines)


async def _advance(ctx: Context, conv: Conversation, text: str) -> str:
    groups = await _groups(ctx, conv.data["org_id"])
    words = read_meeting(text, ctx.now, [g.name for g in groups])
    data = merge(conv.data, words, step=conv.step)
    if conv.step == "topic" and flat(text) in NO_TOPIC:
        data["topic"] = ""
    if words.group:
        data["group_org_id"] = next(id_of(g) for g in groups if g.name == words.group)
    problem = "这个时间已经过去，请回复以后的时间。\n" if words.past else ""
    step = _next_step(data, groups)
    conv.advance(step, **data)
    if step != "confirm":
        return problem + _question(step, groups)
    return problem + _preview(await _plan(ctx, conv.data), ctx)


START_WORDS = ("开会", "安排会议", "新建会议")


@router.command(*START_WORDS)
async def start(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    grant = sender.roles[0]
    conv = await start_conversation(session=ctx.session, person_id=sender.person_id, kind=KIND, step="start",
                                    data={"org_id": grant.org_id})
    reply = await _advance(ctx, conv, written_after(msg.content, START_WORDS, args))
    ctx.session.add(conv)
    await ctx.session.commit()
    ctx.forget_sender()
    return (f"安排{grant.org_name}的会议。\n" if not args else "") + reply


@router.message(in_conversation(KIND))
async def answer(msg: Inbound, ctx: Context) -> str | None:
    assert ctx.sender.person_id is not None
    conv = await open_conversation(session=ctx.session, person_id=ctx.sender.person_id)
    if conv is None or conv.kind != KIND:
        return await pass_on(msg, ctx)
    if conv.is_idle(ctx.now) or flat(msg.text) in CANCEL_WORDS:
        expired = conv.is_idle(ctx.now)
        await end_conversation(session=ctx.session, conv=conv)
        await ctx.session.commit()
        ctx.forget_sender()
        if expired:
            rest = await pass_on(msg, ctx)
            return f"{EXPIRED}\n{rest}" if rest else EXPIRED
        return "已取消，会议没有创建。"
    if conv.step == "confirm" and flat(msg.text) in CONFIRM_WORDS:
        reply = await _create(msg, ctx, conv)
    else:
        reply = await _advance(ctx, conv, msg.content.strip() if conv.step == "topic" else msg.text)
        ctx.session.add(conv)
    await ctx.session.commit()
    ctx.forget_sender()
    return reply


async def _create(msg: Inbound, ctx: Context, conv: Conversation) -> str:
    plan = await _plan(ctx, conv.data)
    if not plan.dates or plan.starts(plan.dates[0]) <= ctx.now:
        conv.advance("when")
        ctx.session.add(conv)
        return "这个时间已经过去，请回复新的时间。"
    meetings = await create_meetings(session=ctx.session, plan=plan, author_person_id=conv.person_id)
    first = meetings[0]
    told = await _tell_attendees(ctx, first, plan)
    await queue_due_reminders(session=ctx.session, now=ctx.now, quiet=ctx.settings.quiet_window,
                              offsets=ctx.settings.reminder_offsets)
    record_audit(session=ctx.session, action="meeting.create", actor=_actor(msg), actor_person_id=conv.person_id,
                 org_id=id_of(plan.org), meeting_ids=[m.id for m in meetings], attendees=len(plan.attendees))
    await end_conversation(session=ctx.session, conv=conv)
    series = f"（共 {len(meetings)} 次，编号 {first.id}–{meetings[-1].id}）" if len(meetings) > 1 else ""
    return (f"已创建第 {first.id} 号会议{series}：{when_words(first.starts_at, ctx.now.tzinfo)} "
            f"{KIND_NAMES[plan.kind]}，{plan.place}。\n已通知 {told} 名参会人员；会前一天 9:00 和会前 2 小时"
            "会提醒尚未回复的人。回复“考勤”查看回复情况。")


async def _tell_attendees(ctx: Context, meeting: Meeting, plan: MeetingPlan) -> int:
    """The meeting notice (会议通知) to every attendee now, as an outbox row about the meeting."""
    people = await load_recipients(session=ctx.session, person_ids=plan.attendees, now=ctx.now)
    org_name = plan.group.name if plan.group is not None else plan.org.name
    body = reminder_body(meeting, org_name, ctx.now.tzinfo).replace("【会议提醒", "【会议通知", 1)
    queued = await queue_messages(
        session=ctx.session, subject=Subject(SubjectKind.meeting, id_of(meeting)), recipients=people.values(),
        not_before=not_before(ctx.now, ctx.settings.quiet_window, urgent=False).astimezone(UTC),
        purpose=Purpose.meeting_reminder, round=0, body=body)
    return len(people) - len(queued.unreachable)


def register_help(book: HelpBook) -> None:
    book.add("开会 — 安排会议（如“开会 党小组会 12月28日 19:30 地点 议题”）", "secretary")
