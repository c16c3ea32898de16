"""The secretary's progress page of one notice, opened from the signed link at the end of `进度`:
the totals, one bar per organisation, who has not answered yet and why someone was not reached.
It refreshes itself every 30 s while the notice is being sent; no script needed."""

from datetime import datetime

from aiohttp import web

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import esc, message_page, page
from handlers.links import read_progress_token
from handlers.progress import unknown_line, waiting_line
from handlers.tasks import level_figures
from models.notice import Notice, NoticeStatus, Urgency
from models.progress import OrgProgress, Progress, may_follow, notice_progress
from models.tasks import Rollup, is_task_to_secretaries, rollup

BAD_LINK = "链接无效或已过期。请在微信中重新发送“进度”获取新链接。"
NOT_YOURS = "这条通知不在您的管理范围内，无法查看进度。"
REFRESH_SECONDS = 30
MAX_NAMES = 200  # per organisation: enough to act on, still a page a phone can scroll

# Two stacked bars per organisation: delivered in a pale red, confirmed over it in full red.
_BARS_CSS = (
    ".bars{position:relative;height:10px;background:#eee;border-radius:5px;margin:6px 0}"
    ".bars i,.bars b{position:absolute;left:0;top:0;height:10px;border-radius:5px}"
    ".bars i{background:#f3b3b5}.bars b{background:#c8161d}"
    ".totals{display:flex;flex-wrap:wrap;gap:8px}.totals div{flex:1 0 28%;text-align:center}"
    ".totals strong{display:block;font-size:20px}.text{white-space:pre-wrap;word-break:break-all}"
    ".warn{color:#c8161d}"
)


def local_time(moment: datetime | None, request: web.Request) -> str:
    if moment is None:
        return ""
    return moment.astimezone(request.app[SETTINGS].tz).strftime("%Y-%m-%d %H:%M")


def notice_kind(notice: Notice) -> str:
    return "任务" if notice.deadline is not None else "通知"


def urgency_name(notice: Notice) -> str:
    return "紧急" if notice.urgency == Urgency.urgent else "普通"


async def progress_page(request: web.Request) -> web.Response:
    secret = request.app[SETTINGS].secret_key.get_secret_value()
    read = read_progress_token(secret, request.match_info["token"])
    if read is None:
        return message_page("无法打开", BAD_LINK, status=403)
    notice_id, person_id = read
    async with request.app[SESSIONS]() as session:
        notice = await session.get(Notice, notice_id)
        if notice is None or notice.status != NoticeStatus.confirmed:
            return message_page("无法打开", BAD_LINK, status=403)
        if not await may_follow(session, person_id=person_id, notice=notice):
            return message_page("无权查看", NOT_YOURS, status=403)
        progress = await notice_progress(session, notice)
        # A task to secretaries cascades (下发): the page adds the roll-up of every level below.
        tree = await rollup(session=session, root=notice) if is_task_to_secretaries(notice) else None
    head = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}"><style>{_BARS_CSS}</style>'
    body = _body(progress, request, tree)
    response = page(f"第 {notice_id} 号{notice_kind(notice)} · 进度", body, head=head)
    response.headers["Cache-Control"] = "no-store"
    return response


def _body(p: Progress, request: web.Request, tree: Rollup | None = None) -> str:
    notice = p.notice
    facts = [f"紧急程度：{urgency_name(notice)}", f"发出：{local_time(notice.confirmed_at, request)}"]
    if notice.deadline is not None:
        facts.append(f"截止：{local_time(notice.deadline, request)}")
    head = (
        f'<div class="card"><div class="text">{esc(notice.text)}</div>'
        f'<p class="muted">{esc(" · ".join(facts))}</p></div>'
    )
    levels = _levels(tree) if tree is not None and tree.orgs else ""
    settings = request.app[SETTINGS]
    waiting = waiting_line(p, settings.tz, settings.quiet_window)
    cards = "".join(_org_card(o, notice) for o in p.orgs)
    refresh = f'<p class="muted">每 {REFRESH_SECONDS} 秒自动刷新</p>'
    return head + _totals(p, waiting) + levels + cards + _notes(p) + _undelivered(p) + refresh


def share(part: int, whole: int) -> int:
    """Percent, for the bars (0 of nothing is 0)."""
    return round(100 * part / whole) if whole else 0


def _levels(tree: Rollup) -> str:
    """四级联动: per level, how many organisations finished (bar: received pale, done full), and the
    organisations not done yet with their secretaries."""
    rows = []
    for level in tree.levels:
        facts = [f"完成 {level.done}/{level.orgs}", *level_figures(level, lambda f: f'<span class="warn">{f}</span>')]
        bars = (
            f'<div class="bars"><i style="width:{share(level.delivered, level.orgs)}%"></i>'
            f'<b style="width:{share(level.done, level.orgs)}%"></b></div>'
        )
        rows.append(f"<p><strong>{esc(level.level)}</strong>{bars}"
                    f'<span class="muted">{" · ".join(facts)}</span></p>')
    unfinished = [
        f"{esc(o.org.name)}（{esc('、'.join(o.secretaries))}{'，<span class=warn>已逾期</span>' if o.overdue else ''}）"
        for o in tree.unfinished
    ]
    pending = f"<p>未完成：{'、'.join(unfinished)}</p>" if unfinished else "<p>各级全部完成。</p>"
    return f'<div class="card"><strong>各级完成情况</strong>{"".join(rows)}{pending}</div>'


def _totals(p: Progress, waiting: str | None = None) -> str:
    """The figures, and below them what waits (quiet hours) and why some are unknown (补发)."""
    figures = [("应发", p.total), ("已送达", p.sent), ("发送中", p.sending - p.waiting), ("未送达", p.failed),
               ("结果未知", p.unknown), ("已确认", p.acked)]
    if p.waiting:
        figures.insert(2, ("等待发送", p.waiting))
    if p.notice.deadline is not None:
        figures.append(("已完成", p.done))
    cells = "".join(f"<div><strong>{n}</strong>{label}</div>" for label, n in figures)
    notes = [line for line in (waiting, unknown_line(p)) if line]
    note = "".join(f'<p class="muted">{esc(line)}</p>' for line in notes)
    return f'<div class="card totals">{cells}</div>{note}'


def _org_card(o: OrgProgress, notice: Notice) -> str:
    lines = [f"送达 {o.sent}/{o.people}", f"确认 {o.acked}"]
    if notice.deadline is not None:
        lines.append(f"完成 {o.done}")
    if o.sending:
        lines.append(f"发送中 {o.sending}")
    if o.failed or o.unknown:
        lines.append(f'<span class="warn">未送达 {o.failed + o.unknown}</span>')
    bars = (
        f'<div class="bars" title="送达 {o.share(o.sent)}%，确认 {o.share(o.acked)}%">'
        f'<i style="width:{o.share(o.sent)}%"></i><b style="width:{o.share(o.acked)}%"></b></div>'
    )
    missing = _names("未确认", o.unacked) if notice.wants_receipt else ""
    if notice.deadline is not None:
        missing += _names("未完成", o.undone)
    return (
        f'<div class="card"><strong>{esc(o.name)}</strong>{bars}'
        f'<div class="muted">{" · ".join(lines)}</div>{missing}</div>'
    )


def _names(label: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = "、".join(esc(n) for n in names[:MAX_NAMES])
    more = f" 等 {len(names)} 人" if len(names) > MAX_NAMES else ""
    return f"<p>{label}：{shown}{more}</p>"


def _notes(p: Progress) -> str:
    """What people wrote with 完成: the issuer's report of the work, not only a count."""
    if not p.notes:
        return ""
    rows = "".join(f"<tr><td>{esc(n.name)}</td><td>{esc(n.org)}</td><td>{esc(n.note)}</td></tr>" for n in p.notes)
    return (
        '<div class="card"><strong>完成情况说明</strong><table><tr><th>姓名</th><th>组织</th><th>说明</th></tr>'
        f"{rows}</table></div>"
    )


def _undelivered(p: Progress) -> str:
    if not p.undelivered:
        return ""
    rows = "".join(
        f"<tr><td>{esc(u.name)}</td><td>{esc(u.org)}</td>"
        f"<td>{'<span class=tag>结果未知</span>' if u.unknown else ''}{esc(u.reason or '原因不明')}</td></tr>"
        for u in p.undelivered
    )
    return (
        '<div class="card"><strong>未送达</strong><table><tr><th>姓名</th><th>组织</th><th>原因</th></tr>'
        f"{rows}</table></div>"
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/p/{token}", progress_page)
