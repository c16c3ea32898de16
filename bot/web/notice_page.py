"""A recipient's page of one notice, opened from the signed link of a template message (the template
itself only holds a short title): the full text, and buttons for 收到 and, for a task, 完成. The
token in the URL names the notice and the person, so it is the capability: no login."""

from aiohttp import web
from sqlmodel import col, select

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import esc, message_page, page
from bot.web.progress_page import local_time, notice_kind, urgency_name
from handlers.links import read_notice_token
from models.audit import record_audit
from models.engagement import NOTE_LIMIT, Engagement, EngagementKind, record, sent_notice
from models.notice import Notice
from models.organisation import Organisation
from models.subject import Subject, of_notice

BAD_LINK = "链接无效或已被改动，请从微信消息中重新打开。"
NOT_FOUND = "没有找到发给您的这条通知。"
FORM = "application/x-www-form-urlencoded"
_STYLE = "<style>.text{white-space:pre-wrap;word-break:break-all}button{width:100%;padding:10px;font-size:16px;" \
    "border:0;border-radius:6px;background:#c8161d;color:#fff;margin-top:8px}textarea{width:100%;font:inherit}" \
    ".ok{color:#1a7f37;font-weight:bold}</style>"


def _reader(request: web.Request) -> tuple[int, int] | None:
    return read_notice_token(request.app[SETTINGS].secret_key.get_secret_value(), request.match_info["token"])


async def notice_page(request: web.Request) -> web.Response:
    read = _reader(request)
    if read is None:
        return message_page("无法打开", BAD_LINK, status=403)
    notice_id, person_id = read
    async with request.app[SESSIONS]() as session:
        notice = await sent_notice(session, notice_id, person_id)
        if notice is None:
            return message_page("没有找到", NOT_FOUND, status=404)
        org = await session.get(Organisation, notice.org_id)
        replies = await session.exec(
            select(col(Engagement.kind), Engagement.note).where(
                of_notice(Engagement, notice_id), Engagement.person_id == person_id
            )
        )
        answered = {kind: note for kind, note in replies}
    token = request.match_info["token"]
    facts = [f"发自：{org.name if org else ''}", f"时间：{local_time(notice.confirmed_at, request)}",
             f"紧急程度：{urgency_name(notice)}"]
    if notice.deadline is not None:
        facts.append(f"截止：{local_time(notice.deadline, request)}")
    body = (
        f'<div class="card"><div class="text">{esc(notice.text)}</div>'
        f'<p class="muted">{"<br>".join(esc(f) for f in facts)}</p></div>'
        + _answers(notice, token, answered)
    )
    return page(f"第 {notice_id} 号{notice_kind(notice)}", body, head=_STYLE)


def _answers(notice: Notice, token: str, answered: dict[EngagementKind, str]) -> str:
    parts = []
    hidden = f'<input type="hidden" name="token" value="{esc(token)}">'
    if notice.wants_receipt:
        if EngagementKind.acked in answered or EngagementKind.done in answered:  # 完成 implies 收到
            parts.append('<p class="ok">✓ 已确认收到</p>')
        else:
            parts.append(f'<form method="post" action="/n/{esc(token)}/ack">{hidden}<button>收到</button></form>')
    if notice.deadline is not None:
        if EngagementKind.done in answered:
            note = answered[EngagementKind.done]
            parts.append('<p class="ok">✓ 已记录完成</p>' + (f'<p class="muted">说明：{esc(note)}</p>' if note else ""))
        else:
            parts.append(
                f'<form method="post" action="/n/{esc(token)}/done">{hidden}'
                f'<textarea name="note" rows="2" maxlength="{NOTE_LIMIT}" placeholder="完成情况（可不填）"></textarea>'
                "<button>完成</button></form>"
            )
    return f'<div class="card">{"".join(parts)}</div>' if parts else ""


async def _answer(request: web.Request, kind: EngagementKind) -> web.Response:
    read = _reader(request)
    if read is None:
        return message_page("无法提交", BAD_LINK, status=403)
    token = request.match_info["token"]
    # The signed token is the capability; a form from elsewhere cannot know it, and a cross-site script
    # cannot send JSON or plain text here. Both checks keep forged submissions out.
    if request.content_type != FORM:
        return message_page("无法提交", "请在通知页面上点按钮提交。", status=415)
    form = await request.post()
    if form.get("token") != token:
        return message_page("无法提交", BAD_LINK, status=403)
    notice_id, person_id = read
    is_done = kind == EngagementKind.done
    note = str(form.get("note") or "").strip()[:NOTE_LIMIT] if is_done else ""
    async with request.app[SESSIONS]() as session:
        notice = await sent_notice(session, notice_id, person_id)
        if notice is None:
            return message_page("没有找到", NOT_FOUND, status=404)
        if is_done and notice.deadline is None:
            return message_page("无法提交", "这条通知不是任务，无需报告完成。", status=400)
        if not is_done and not notice.wants_receipt:
            return message_page("无法提交", "这条通知无需确认收到。", status=400)
        if await record(session, Subject.notice(notice_id), person_id, kind, note):
            detail = {"note": note} if note else {}
            record_audit(session=session, action="notice.done" if is_done else "notice.ack",
                         actor="web:notice_page", actor_person_id=person_id, org_id=notice.org_id,
                         notice_id=notice_id, **detail)
            await session.commit()
    # Post/redirect/get: reloading the page does not submit again.
    raise web.HTTPSeeOther(location=f"/n/{token}")


async def acknowledge(request: web.Request) -> web.Response:
    return await _answer(request, EngagementKind.acked)


async def report_done(request: web.Request) -> web.Response:
    return await _answer(request, EngagementKind.done)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/n/{token}", notice_page)
    app.router.add_post("/n/{token}/ack", acknowledge)
    app.router.add_post("/n/{token}/done", report_done)
