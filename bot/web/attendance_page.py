"""The secretary's attendance page of a meeting, opened from the signed link at the end of `考勤`: the
counts (应到 / 参加 / 请假 / 已签到 / 未回复 / 缺席) and everyone's name under their state, with a leave's
reason and whether it was approved, and when each signed in. Printable; refreshes itself every
minute while sign-in may still change it."""

from datetime import datetime

from aiohttp import web

from bot.keys import SETTINGS
from bot.web.layout import esc, page
from bot.web.meeting_scope import meeting_in_scope, no_store
from handlers.links import read_attendance_token
from handlers.meetings import LEAVE_WORDS, STATE_WORDS
from models.meeting import AttendeeState, describe, ends_at

BAD_LINK = "链接无效或已过期。请在微信中重新发送“考勤”获取新链接。"
REFRESH_SECONDS = 60
SECTIONS = tuple((key, STATE_WORDS[key]) for key in ("signed_in", "attending", "leave", "no_reply", "absent"))
_CSS = (".totals{display:flex;flex-wrap:wrap;gap:8px}.totals div{flex:1 0 28%;text-align:center}"
        ".totals strong{display:block;font-size:20px}li{margin:4px 0}"
        "@media print{header{background:none;color:#000}.muted{color:#333}}")


def _person(p: AttendeeState, tz: object) -> str:
    notes = []
    if p.reason:
        notes.append(p.reason)
    if p.leave:
        notes.append(LEAVE_WORDS[p.leave])
    if p.signed_in_at is not None:
        notes.append(p.signed_in_at.astimezone(tz).strftime("%H:%M"))  # type: ignore[arg-type]
    return f"<li>{esc(p.name)}" + (f'<span class="muted">（{esc("，".join(notes))}）</span>' if notes else "") + "</li>"


async def attendance_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read = read_attendance_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    found = await meeting_in_scope(request, read, BAD_LINK)
    if isinstance(found, web.Response):
        return found
    meeting, org, attendance = found
    counts = attendance.counts
    figures = "".join(f"<div><strong>{counts[key]}</strong>{name}</div>"
                      for key, name in (("invited", "应到"), *SECTIONS))
    cards = []
    for key, name in SECTIONS:
        people = [p for p in attendance.people if p.status == key]
        if people:
            items = "".join(_person(p, settings.tz) for p in people)
            cards.append(f'<div class="card"><strong>{name}（{len(people)}）</strong><ul>{items}</ul></div>')
    head_card = (f'<div class="card"><strong>{esc(describe(meeting, settings.tz))}</strong>'
                 f'<p class="muted">{esc(org.name)} · 第 {meeting.id} 号会议</p>'
                 f'<div class="totals">{figures}</div></div>')
    live = datetime.now(settings.tz) < ends_at(meeting)
    head = (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if live else "") + f"<style>{_CSS}</style>"
    footer = f'<p class="muted">每 {REFRESH_SECONDS} 秒自动刷新</p>' if live else ""
    return no_store(page(f"第 {meeting.id} 号会议 · 考勤", head_card + "".join(cards) + footer, head=head))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/attendance/{token}", attendance_page)
