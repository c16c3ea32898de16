"""The secretary's attendance page of a meeting, opened from the signed link at the end of `考勤`: the
counts (应到 / 参加 / 请假 / 已签到 / 未回复 / 缺席) and everyone's name under their state, with a leave's
reason and whether it was approved, and when each signed in. Printable; refreshes itself every
minute while sign-in may still change it. Once the meeting has started, a form records it as held
(host, recorder, minutes), as `已召开` does in the chat."""

from datetime import datetime

from aiohttp import web

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import esc, message_page, page
from bot.web.meeting_scope import meeting_in_scope, no_store
from handlers.links import read_attendance_token, record_page_url
from handlers.meetings import LEAVE_WORDS, STATE_WORDS
from models.makeup import queue_makeup
from models.meeting import AttendeeState, Meeting, MeetingStatus, attendance_of, describe, ends_at
from models.meeting_record import MeetingRecord, record_held
from models.organisation import Organisation

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
    now = datetime.now(settings.tz)
    live = now < ends_at(meeting)
    form = _record_form(request, meeting) if meeting.status == MeetingStatus.scheduled and now >= meeting.starts_at \
        else ""
    # No refresh while there is a form to fill in: it would wipe what the secretary is typing.
    refresh = live and not form
    head = (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else "") + f"<style>{_CSS}</style>"
    footer = f'<p class="muted">每 {REFRESH_SECONDS} 秒自动刷新</p>' if refresh else ""
    return no_store(page(f"第 {meeting.id} 号会议 · 考勤", head_card + "".join(cards) + form + footer, head=head))


def _record_form(request: web.Request, meeting: Meeting) -> str:
    action = esc(request.path + "/held")
    return (f'<div class="card"><strong>记录为已召开</strong><form method="post" action="{action}">'
            '<p><label>主持人 <input name="host" maxlength="50" required></label></p>'
            '<p><label>记录人 <input name="recorder" maxlength="50" required></label></p>'
            '<p><label>会议纪要<br><textarea name="minutes" rows="6" style="width:100%" maxlength="5000" required>'
            '</textarea></label></p><p class="muted">未签到且未请假的记为缺席，并收到补课材料。</p>'
            '<p><button type="submit">记录为已召开</button></p></form></div>')


async def record_held_by_page(request: web.Request) -> web.Response:
    """The form above: the meeting recorded as held (as `已召开` in the chat), then its record page."""
    settings = request.app[SETTINGS]
    token = request.match_info["token"]
    read = read_attendance_token(settings.secret_key.get_secret_value(), token)
    found = await meeting_in_scope(request, read, BAD_LINK)
    if isinstance(found, web.Response):
        return found
    assert read is not None
    form = await request.post()
    host, recorder, minutes = (str(form.get(k, "")).strip() for k in ("host", "recorder", "minutes"))
    if not (host and recorder and minutes):
        return message_page("未记录", "请填写主持人、记录人和会议纪要。", status=400)
    meeting_id, person_id = read
    now = datetime.now(settings.tz)
    async with request.app[SESSIONS]() as session:
        meeting = await session.get(Meeting, meeting_id)
        org = await session.get(Organisation, meeting.org_id) if meeting else None
        assert meeting is not None and org is not None  # meeting_in_scope found them
        attendance = await attendance_of(session=session, meeting=meeting, org=org, now=now)
        result = await record_held(session=session, meeting=meeting, attendance=attendance, host=host,
                                   recorder=recorder, minutes=minutes, by=person_id, actor="page", now=now)
        if isinstance(result, MeetingRecord):
            await queue_makeup(session=session, meeting=meeting, record_=result, org_name=org.name,
                               attendance=attendance, quiet=settings.quiet_window, now=now)
        await session.commit()
    if not isinstance(result, MeetingRecord):
        return message_page("未记录", result.reason, status=409)
    raise web.HTTPSeeOther(record_page_url(settings.public_url, settings.secret_key.get_secret_value(), meeting_id,
                                           person_id))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/attendance/{token}", attendance_page)
    app.router.add_post("/m/attendance/{token}/held", record_held_by_page)
