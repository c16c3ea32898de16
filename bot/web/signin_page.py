"""The secretary's sign-in page of a meeting, opened from the signed link `签到码` gives: the current
4-digit code in large type and a QR code of the Official Account carrying it (qrcode/create, valid
for 120 s), both renewed every minute by reloading at the turn of the minute (no script), with the
count of those signed in. Members scan the QR code or reply `签到 <码>`; WeCom members reply the code."""

import logging
from datetime import datetime

import httpx
import segno
from aiohttp import web

from bot.keys import API, SETTINGS
from bot.web.layout import esc, page
from bot.web.meeting_scope import meeting_in_scope, no_store
from bot.wechat.api import ApiError
from handlers.links import read_signin_token
from models.meeting import describe
from models.meeting_signin import PERIOD_SECONDS, current_code, signin_open, signin_opens, signin_scene
from models.typed import id_of

log = logging.getLogger(__name__)
BAD_LINK = "链接无效或已过期。请在微信中重新发送“签到码”获取新链接。"
QR_SECONDS = 120  # two periods: a code scanned just before the minute turns still signs in
WAIT_SECONDS = 30
_CSS = (".warn{color:#c8161d}"
        ".code{font-size:64px;letter-spacing:12px;text-align:center;font-weight:bold;color:#c8161d;margin:8px 0}"
        ".qr{text-align:center}.qr svg{width:70vw;max-width:320px;height:auto}.center{text-align:center}")


async def _qr_svg(request: web.Request, scene: str) -> str | None:
    """The QR code of `scene` as inline SVG; None when WeChat did not issue one (the code still works)."""
    try:
        issued = await request.app[API].create_qr_code(scene, QR_SECONDS)
    except (ApiError, httpx.HTTPError) as error:
        log.warning("sign-in QR code not issued: %s", error)
        return None
    return str(segno.make(str(issued["url"]), error="m").svg_inline(scale=6, border=2))


async def signin_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read = read_signin_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    found = await meeting_in_scope(request, read, BAD_LINK)
    if isinstance(found, web.Response):
        return found
    meeting, _org, attendance = found
    counts = attendance.counts
    now = datetime.now(settings.tz)
    facts = (f'<div class="card"><strong>{esc(describe(meeting, settings.tz))}</strong>'
             f'<p class="muted">已签到 {counts["signed_in"]} / 应到 {counts["invited"]}'
             f'，请假 {counts["leave"]}</p></div>')
    if not signin_open(meeting, now):
        opens = signin_opens(meeting).astimezone(settings.tz)
        text = (f"签到于 {opens:%m月%d日 %H:%M} 开放（会议开始前 30 分钟），至开始后 60 分钟结束。"
                if now < opens else "签到已结束。未签到的党员可由书记回复“补签 姓名 原因”补签。")
        head = f'<meta http-equiv="refresh" content="{WAIT_SECONDS}"><style>{_CSS}</style>'
        return no_store(page(f"第 {meeting.id} 号会议 · 签到", facts + f'<div class="card">{esc(text)}</div>',
                              head=head))
    code = current_code(settings.secret_key.get_secret_value(), id_of(meeting), now)
    svg = await _qr_svg(request, signin_scene(id_of(meeting), code))
    qr = (f'<div class="qr">{svg}</div><p class="center muted">微信扫一扫签到</p>' if svg
          else '<p class="center warn">二维码暂时无法生成，请大家回复签到码。</p>')
    # Reloaded just after the minute turns, when the code changes.
    left = PERIOD_SECONDS - int(now.timestamp()) % PERIOD_SECONDS + 1
    body = (facts + f'<div class="card">{qr}<p class="center">或在微信中回复</p>'
            f'<div class="code">{esc(code)}</div><p class="center muted">“签到 {esc(code)}”（每分钟更新）</p></div>')
    head = f'<meta http-equiv="refresh" content="{left}"><style>{_CSS}</style>'
    return no_store(page(f"第 {meeting.id} 号会议 · 签到", body, head=head))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/signin/{token}", signin_page)
