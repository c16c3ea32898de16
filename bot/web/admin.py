"""The secretaries' phone pages, opened from the one-time `后台` link and scoped to one subtree."""

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import esc, message_page, page
from bot.web.progress_page import local_time, share
from bot.web.session import COOKIE, WebUser, current_user, set_session
from handlers.links import progress_url
from models.inquiry import count_open_inquiries
from models.login import redeem_login_token
from models.organisation import LEVEL_NAMES, get_org_by_code
from models.overview import PersonRow, notices_of, people_of, subtree_counts
from models.person import PERSON_KIND_NAMES, ROLE_NAMES, RoleKind
from models.typed import id_of

EXPIRED = "链接无效、已使用或已过期。请在微信中重新发送“后台”获取新链接。"


def _secret(request: web.Request) -> str:
    return request.app[SETTINGS].secret_key.get_secret_value()


async def login(request: web.Request) -> web.StreamResponse:
    token = request.query.get("t", "")
    async with request.app[SESSIONS]() as session:
        row = await redeem_login_token(session=session, token=token) if token else None
        await session.commit()
    if row is None:
        async with request.app[SESSIONS]() as session:
            if await current_user(request, session, _secret(request)) is not None:
                # The link was used already, here: the session it opened is still good (a second tap
                # on the same link in the chat, the browser's back button).
                return web.Response(status=303, headers={"Location": "/admin/"})
        return message_page("无法登录", EXPIRED, status=403)
    response = web.Response(status=303, headers={"Location": "/admin/"})
    secure = request.app[SETTINGS].public_url.startswith("https://")
    set_session(response, _secret(request), row.person_id, row.org_id, secure)
    return response


View = Callable[[web.Request, AsyncSession, WebUser], Awaitable[web.Response]]


def signed_in(view: View) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The page for a secretary with a live session (one session per request, the user re-checked
    against their roles); without one, the answer says how to get a new link."""

    async def page_for_user(request: web.Request) -> web.Response:
        async with request.app[SESSIONS]() as session:
            user = await current_user(request, session, _secret(request))
            if user is None:
                return message_page("请重新登录", "登录已失效。请在微信中发送“后台”获取新链接。", status=401)
            return await view(request, session, user)

    return page_for_user


def _bar(percent: int) -> str:
    return f'<div class="bar"><i style="width:{percent}%"></i></div>'


@signed_in
async def overview(request: web.Request, session: AsyncSession, user: WebUser) -> web.Response:
    rows = await subtree_counts(session=session, root=user.scope)
    items = []
    for r in rows:
        reached = share(r.reached, r.members + r.residents)
        items.append(
            f'<div class="card" style="margin-left:{min(r.depth, 4) * 12}px">'
            f'<a href="/admin/org/{esc(r.org.code)}">{esc(r.org.name)}</a>'
            f'<span class="tag">{esc(LEVEL_NAMES[r.org.level])}</span>'
            f'<div class="muted">含下级：党员 {r.members} · 居民 {r.residents} · '
            f'微信可达 {r.reached}（{reached}%）</div>'
            f"{_bar(reached)}</div>"
        )
    waiting = await count_open_inquiries(session=session, scope_paths=[user.scope.path])
    head = (f'<p class="muted">{esc(user.person.name)} · 可查看 {esc(user.scope.name)} 及下级组织</p>'
            '<nav class="links"><a href="/admin/notices">通知和任务 →</a>'
            f'<a href="/admin/inquiries">留言（未答复 {waiting}）→</a></nav>')
    return page(f"{user.scope.name} 管理", head + "".join(items))


@signed_in
async def notices(request: web.Request, session: AsyncSession, user: WebUser) -> web.Response:
    """The notices and tasks of the subtree, newest first, each with its figures and its progress page."""
    rows = await notices_of(session=session, root=user.scope)
    public_url = request.app[SETTINGS].public_url
    items = []
    for r in rows:
        notice = r.notice
        kind = "任务" if notice.deadline is not None else "通知"
        text = notice.text.split("\n")[0]
        acked = share(r.acked, r.people)
        link = progress_url(public_url, _secret(request), id_of(notice), id_of(user.person))
        items.append(
            f'<div class="card"><a href="{esc(link)}">第 {notice.id} 号{kind}：{esc(text[:30])}</a>'
            f'<div class="muted">{esc(r.issuer)} · {local_time(notice.confirmed_at, request)}</div>'
            f'<div class="muted">应发 {r.people} · 已送达 {r.delivered} · 已确认 {r.acked}（{acked}%）</div>'
            f"{_bar(acked)}</div>"
        )
    back = '<p><a href="/admin/">← 返回总览</a></p>'
    body = "".join(items) or '<div class="card muted">还没有通知。在微信中回复“发通知”开始。</div>'
    return page(f"{user.scope.name} · 通知和任务", back + body)


@signed_in
async def organisation(request: web.Request, session: AsyncSession, user: WebUser) -> web.Response:
    org = await get_org_by_code(session=session, code=request.match_info["code"])
    if org is None or not user.may_see(org):
        # Same answer for "does not exist" and "not yours": no probing of other organisations.
        return message_page("无权查看", "该组织不存在或不在您的管理范围内。", status=403)
    people = await people_of(session=session, org=org)
    rows = "".join(
        f"<tr><td>{esc(p.person.name)}"
        + "".join(f'<span class="tag">{ROLE_NAMES[RoleKind(k)]}</span>' for k in p.roles)
        + f"</td><td>{esc(PERSON_KIND_NAMES[p.person.kind])}{'' if p.is_primary else '（参加）'}</td>"
        f"<td>{_reach(p)}</td></tr>"
        for p in people
    )
    table = f'<div class="card"><table><tr><th>姓名</th><th>类别</th><th>微信</th></tr>{rows}</table></div>'
    back = '<p><a href="/admin/">← 返回总览</a></p>'
    return page(org.name, back + (table if people else '<div class="card muted">暂无人员</div>'))


def _reach(p: PersonRow) -> str:
    if p.bound:
        return "已绑定"
    if p.person.work_userid:  # WeCom delivers to the roster's account before the member opens the app
        return "企业微信"
    return "<span class=muted>未绑定</span>"


async def logout(request: web.Request) -> web.Response:
    response = message_page("已退出", "您已退出管理页面。", status=200)
    response.del_cookie(COOKIE)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/login", login)
    app.router.add_get("/admin/", overview)
    app.router.add_get("/admin/org/{code}", organisation)
    app.router.add_get("/admin/notices", notices)
    app.router.add_post("/admin/logout", logout)
