"""The 留言 inbox of a secretary's subtree: what residents and unit representatives wrote, unanswered
first, each with a box to answer it here (the answer reaches the sender on WeChat, as `回复 N` does)."""

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.keys import SETTINGS
from bot.web.admin import signed_in
from bot.web.layout import esc, message_page, page
from bot.web.progress_page import local_time
from bot.web.session import WebUser
from models.clock import utcnow
from models.inquiry import TEXT_MAX, inquiries_of, inquiry_in_scope
from models.inquiry_messages import escalation_moment, send_answer
from models.typed import id_of

EMPTY = "还没有留言。居民和驻区单位在微信里发来的话会出现在这里。"
FLASH = {"sent": "已答复，对方会在微信里收到。", "unreachable": "已记录答复，但对方目前无法通过微信收到，请电话联系。"}


@signed_in
async def inbox(request: web.Request, session: AsyncSession, user: WebUser) -> web.Response:
    rows = await inquiries_of(session=session, root_path=user.scope.path)
    tz = request.app[SETTINGS].tz
    unanswered = sum(1 for i, _p, _o in rows if not i.answers)
    late = sum(1 for i, _p, _o in rows if not i.answers and i.escalated_at is not None)
    items = []
    for inquiry, person, org in rows:
        head = (f'<b>第 {inquiry.id} 号</b> · {esc(person)}（{esc(org)}）'
                f'<div class="muted">{local_time(inquiry.received_at, request)} 收到</div>')
        text = f'<p class="text">{esc(inquiry.text)}</p>'
        if inquiry.answers:
            foot = (f'<div class="answer"><span class="tag">已答复</span> {local_time(inquiry.answered_at, request)}'
                    f"<br>{esc(inquiry.answer or '')}</div>")
        else:
            due = escalation_moment(inquiry, tz)
            by = f"请在 {due.month}月{due.day}日 {due:%H:%M} 前答复，超时会上报上级组织"
            status = ('<span class="tag">已超时，已上报上级</span>' if inquiry.escalated_at is not None
                      else f'<span class="muted">{by}</span>')
            foot = (f"<div>{status}</div>"
                    f'<form method="post" action="/admin/inquiries/{inquiry.id}/answer">'
                    f'<label for="a{inquiry.id}" class="muted">答复第 {inquiry.id} 号留言</label>'
                    f'<textarea id="a{inquiry.id}" name="text" maxlength="{TEXT_MAX}" required rows="3"></textarea>'
                    '<button type="submit">发送答复</button></form>')
        items.append(f'<div class="card" id="inquiry-{inquiry.id}">{head}{text}{foot}</div>')
    flash = FLASH.get(request.query.get("done", ""), "")
    summary = f"未答复 {unanswered} 条" + (f"，其中 {late} 条已超时上报" if late else "")
    body = ('<p><a href="/admin/">← 返回总览</a></p>'
            + (f'<div class="card flash" role="status">{esc(flash)}</div>' if flash else "")
            + f'<p class="muted">{esc(user.scope.name)} 及下级组织 · {summary}</p>'
            + ("".join(items) or f'<div class="card muted">{EMPTY}</div>'))
    return page(f"{user.scope.name} · 留言", body)


@signed_in
async def answer(request: web.Request, session: AsyncSession, user: WebUser) -> web.Response:
    # The session cookie is SameSite=Lax, so another site's form cannot post here as the secretary;
    # a browser's Sec-Fetch-Site says the same outright when it sends one.
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return message_page("无法提交", "请从管理页面提交答复。", status=403)
    try:
        number = int(request.match_info["number"])
    except ValueError:
        return message_page("没有这条留言", "留言编号应为数字。", status=404)
    form = await request.post()
    text = str(form.get("text", "")).strip()
    inquiry = await inquiry_in_scope(session=session, inquiry_id=number, scope_paths=[user.scope.path])
    if inquiry is None:
        return message_page("没有这条留言", f"没有找到第 {number} 号留言，或不在您的管理范围内。", status=404)
    if not text:
        return message_page("请写上答复", "答复内容不能为空，请返回填写。", status=400)
    if len(text) > TEXT_MAX:
        return message_page("答复太长", f"答复最多 {TEXT_MAX} 字，请缩短后再发送。", status=400)
    answered = await send_answer(session=session, inquiry=inquiry, text=text, by=id_of(user.person),
                                 actor=f"web:{user.person.id}", now=utcnow())
    await session.commit()
    done = "sent" if answered.rows else "unreachable"
    return web.Response(status=303, headers={"Location": f"/admin/inquiries?done={done}#inquiry-{inquiry.id}"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/inquiries", inbox)
    app.router.add_post("/admin/inquiries/{number}/answer", answer)
