"""`改期 3 12月30日 19:30 [新地点]` and `取消会议 3 [原因]`: a secretary moves or calls off a meeting in
their scope; everyone invited is told (models/meeting_changes.py)."""

from datetime import datetime

from handlers.context import Context, Inbound
from handlers.meeting_words import read_meeting
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, notice_number, written_after
from models.meeting import Meeting, describe, find_meeting
from models.meeting_changes import cancel, reschedule
from models.organisation import Organisation

router = Router("meeting_changes")
ONLY_SECRETARIES = "“改期”和“取消会议”只对书记、副书记和管理员开放。"


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


def _split_number(args: str) -> tuple[int | None, str]:
    first, _, rest = args.strip().partition(" ")
    try:
        return notice_number(first, "会议"), rest.strip()
    except NotANumber:
        return None, args


MOVE_WORDS = ("改期", "会议改期")
CANCEL_WORDS = ("取消会议", "会议取消")


async def _named(msg: Inbound, ctx: Context, args: str, words: tuple[str, ...], usage: str
                 ) -> tuple[Meeting, Organisation, str] | str:
    """The meeting the secretary's command names by its number (in their scope), and the words after
    the number; or the answer when there is none."""
    if not ctx.sender.roles or ctx.sender.person_id is None:
        return ONLY_SECRETARIES
    number, rest = _split_number(written_after(msg.content, words, args))
    if number is None:
        return usage
    found = await find_meeting(session=ctx.session, scope_paths=[g.org_path for g in ctx.sender.roles],
                               meeting_id=number, now=ctx.now)
    if found is None:
        return f"没有找到第 {number} 号会议，或不在您的管理范围内。"
    return found[0], found[1], rest


@router.command(*MOVE_WORDS)
async def move(msg: Inbound, ctx: Context, args: str) -> str:
    named = await _named(msg, ctx, args, MOVE_WORDS,
                         "请回复“改期 编号 新时间”，如“改期 3 12月30日 19:30”（可在后面加新地点）。")
    if isinstance(named, str):
        return named
    meeting, org, rest = named
    words = read_meeting(rest, ctx.now)
    if words.past:
        return "新的时间已经过去，请回复以后的时间。"
    local = meeting.starts_at.astimezone(ctx.now.tzinfo)
    day, at = words.day or local.date(), words.at or local.time()
    if words.day is None and words.at is None:
        return "没看懂新的时间。请回复如“改期 3 12月30日 19:30”或“改期 3 明天晚上7点半”。"
    place = words.place or (words.rest[0] if words.rest else "")
    changed = await reschedule(session=ctx.session, meeting=meeting, org=org,
                               starts_at=datetime.combine(day, at, tzinfo=ctx.now.tzinfo), place=place,
                               by=ctx.sender.person_id, actor=_actor(msg), now=ctx.now,
                               quiet=ctx.settings.quiet_window, offsets=ctx.settings.reminder_offsets)
    await ctx.session.commit()
    if changed.refused:
        return changed.refused
    return (f"已改期：第 {meeting.id} 号会议改为 {describe(meeting, ctx.now.tzinfo)}。"
            f"已通知 {changed.told} 名参会人员，之前的回复保留；提醒按新的时间发送。")


@router.command(*CANCEL_WORDS)
async def call_off(msg: Inbound, ctx: Context, args: str) -> str:
    named = await _named(msg, ctx, args, CANCEL_WORDS, "请回复“取消会议 编号 原因”，如“取消会议 3 因天气原因”。")
    if isinstance(named, str):
        return named
    meeting, org, reason = named
    changed = await cancel(session=ctx.session, meeting=meeting, org=org, reason=reason, by=ctx.sender.person_id,
                           actor=_actor(msg), now=ctx.now, quiet=ctx.settings.quiet_window)
    await ctx.session.commit()
    if changed.refused:
        return changed.refused
    return f"已取消第 {meeting.id} 号会议，已通知 {changed.told} 名参会人员；尚未发出的提醒不再发送。"


def register_help(book: HelpBook) -> None:
    book.add("改期 编号 新时间 / 取消会议 编号 — 并通知参会人员", "secretary")
