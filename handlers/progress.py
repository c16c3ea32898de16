"""`进度` / `进度 12`: a secretary sees how far a notice got — delivered, still sending, undelivered,
acknowledged and done, per organisation, and who has not yet answered 收到 — and a signed link to the
phone page with the bars and every undelivered person's reason."""

from datetime import time, tzinfo

from handlers.context import Context, Inbound
from handlers.links import progress_url
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, notice_number
from models.inquiry import count_open_inquiries
from models.progress import Progress, find_notice, notice_progress

router = Router("progress")
ONLY_SECRETARIES = "“进度”只对书记、副书记和管理员开放。"
NO_NOTICES = "您还没有发过通知。回复“发通知”开始。"
PREVIEW = 20
MAX_ORGS = 8
MAX_NAMES = 10


@router.command("进度")
async def progress(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    try:
        notice_id = notice_number(args)
    except NotANumber:
        return "请回复“进度”查看最新通知，或“进度 编号”查看指定通知。"
    notice = await find_notice(ctx.session, person_id=sender.person_id,
                               scope_paths=[g.org_path for g in sender.roles], notice_id=notice_id)
    if notice is None:
        if notice_id:
            return f"没有找到第 {notice_id} 号通知，或不在您的管理范围内。"
        return NO_NOTICES + await _inquiries_line(ctx)
    assert notice.id is not None
    link = progress_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), notice.id,
                        sender.person_id)
    progress_now = await notice_progress(ctx.session, notice)
    text = render(progress_now, tz=ctx.now.tzinfo, quiet=ctx.settings.quiet_window) + f"\n详情：{link}"
    return text + (await _inquiries_line(ctx) if not notice_id else "")


async def _inquiries_line(ctx: Context) -> str:
    """The latest notice's 进度 also says how many 留言 wait for an answer (empty when none do)."""
    count = await count_open_inquiries(session=ctx.session, scope_paths=[g.org_path for g in ctx.sender.roles])
    return f"\n另有未答复的留言 {count} 条，回复“留言”查看。" if count else ""


def waiting_line(p: Progress, tz: tzinfo | None, quiet: tuple[time, time] | None) -> str | None:
    """"等待发送 3（休息时段，07:30 起发送）": held rows are due when the quiet hours end, or at the end of
    a digest slot. None when nothing waits (the chat and the progress page say the same)."""
    if not p.waiting or p.waiting_until is None:
        return None
    local = p.waiting_until.astimezone(tz)
    why = "休息时段" if quiet is not None and local.time() == quiet[1] else "合并发送"
    return f"等待发送 {p.waiting}（{why}，{local:%H:%M} 起发送）"


def unknown_line(p: Progress) -> str | None:
    """Why some ended unknown and what the secretary can do (`补发`); None when none did."""
    if not p.unknown:
        return None
    return (f"结果未知 {p.unknown} 人：发送时服务中断，可能已收到也可能没有。"
            f"回复“补发 {p.notice.id}”可重发（已收到的人会再收到一次）。")


def render(p: Progress, *, tz: tzinfo | None = None, quiet: tuple[time, time] | None = None) -> str:
    text = p.notice.text
    preview = text if len(text) <= PREVIEW else text[:PREVIEW] + "…"
    is_task = p.notice.deadline is not None
    lines = [f"第 {p.notice.id} 号{'任务' if is_task else '通知'}：{preview}"]
    failed = f"未送达 {p.failed}" + (f"（{p.failed_reason}）" if p.failed and p.failed_reason else "")
    counts = [f"应发 {p.total}", f"已送达 {p.sent}", f"发送中 {p.sending - p.waiting}", failed]
    if waiting := waiting_line(p, tz, quiet):
        counts.insert(2, waiting)
    if p.unknown:
        counts.append(f"结果未知 {p.unknown}")
    counts.append(f"已确认收到 {p.acked}")
    if is_task:
        counts.append(f"已完成 {p.done}")
    lines.append("，".join(counts))
    if unknown := unknown_line(p):
        lines.append(unknown)
    lines.extend(f"{o.name}：送达 {o.sent}/{o.people}，确认 {o.acked}" for o in p.orgs[:MAX_ORGS])
    if p.unacked:
        more = "…" if len(p.unacked) > MAX_NAMES else ""
        lines.append("未确认：" + "、".join(p.unacked[:MAX_NAMES]) + more)
    return "\n".join(lines)


def register_help(book: HelpBook) -> None:
    book.add("进度 — 查看最新通知的送达和确认情况（也可“进度 编号”）", "secretary")
