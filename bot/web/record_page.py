"""A meeting's 会议记录, printable: what, when, where, host and recorder, the attendance as recorded
(应到 / 实到 / 请假 / 缺席 with names), the topic and the minutes, and who has made up for missing it
(补课). Opened from the signed link `已召开` answers with."""

from aiohttp import web

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import esc, message_page, page
from bot.web.meeting_scope import meeting_in_scope, no_store
from handlers.links import read_record_token
from models.meeting import KIND_NAMES, MeetingKind, describe
from models.meeting_record import names, record_of
from models.typed import id_of

BAD_LINK = "链接无效或已过期。请在微信中重新发送“考勤 编号”查看会议。"
_CSS = (".text{white-space:pre-wrap;word-break:break-all}table{width:100%;border-collapse:collapse}"
        "td{border:1px solid #ddd;padding:6px;vertical-align:top}td:first-child{width:5em;color:#666}"
        "@media print{header{background:none;color:#000}}")


async def record_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read = read_record_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    found = await meeting_in_scope(request, read, BAD_LINK)
    if isinstance(found, web.Response):
        return found
    meeting, org, attendance = found
    async with request.app[SESSIONS]() as session:
        record = await record_of(session, id_of(meeting))
    if record is None:
        return message_page("尚未记录", f"第 {meeting.id} 号会议还没有记录为已召开。", status=404)
    made_up = [p.name for p in attendance.people if p.made_up_at is not None]
    rows = [("会议", f"{KIND_NAMES[MeetingKind(meeting.kind)]} · {describe(meeting, settings.tz)}"),
            ("组织", org.name), ("主持人", record.host), ("记录人", record.recorder),
            ("出席", f"应到 {record.invited}，实到 {record.present}，请假 {record.on_leave}，缺席 {record.absent}"),
            ("实到人员", "、".join(names(record.present_names)) or "—"),
            ("请假人员", "、".join(names(record.leave_names)) or "—"),
            ("缺席人员", "、".join(names(record.absent_names)) or "—"),
            ("已补课", "、".join(made_up) or "—"), ("议题", meeting.topic or "—")]
    table = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    recorded = record.recorded_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    body = (f'<div class="card"><table>{table}</table></div>'
            f'<div class="card"><strong>会议纪要</strong><div class="text">{esc(record.minutes)}</div></div>'
            f'<p class="muted">记录于 {recorded}</p>')
    return no_store(page(f"第 {meeting.id} 号会议 · 会议记录", body, head=f"<style>{_CSS}</style>"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/record/{token}", record_page)
