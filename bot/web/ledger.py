"""The yearly 三会一课台账 of an organisation as a spreadsheet: one row per meeting it recorded as held
(date, kind, topic, host, recorder, 应到 / 实到 / 请假 / 缺席 with names, photos). Downloaded from the signed
link `台账` gives a secretary, or `GET /api/meetings/ledger.xlsx?org=CODE&year=YYYY` with a token."""

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.keys import SESSIONS, SETTINGS
from bot.web.api_edge import authorised, queried_org, refused
from bot.web.layout import message_page
from handlers.links import read_ledger_token
from models.api_token import ApiToken
from models.meeting import KIND_NAMES, Meeting, MeetingKind, title_of
from models.meeting_photo import photo_count
from models.meeting_record import MeetingRecord, held_meetings, names
from models.notice_send import Refusal, RefusalKind, covering, role_orgs
from models.organisation import Organisation
from models.typed import id_of

BAD_LINK = "链接无效或已过期。请在微信中重新发送“台账”获取新链接。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ("序号", "日期", "时间", "会议类型", "会议名称", "议题", "地点", "主持人", "记录人", "应到", "实到", "请假",
          "缺席", "请假人员", "缺席人员", "照片数")
WIDTHS = (6, 12, 8, 14, 18, 30, 18, 10, 10, 6, 6, 6, 6, 24, 24, 8)


def ledger_rows(held: list[tuple[Meeting, MeetingRecord]], photos: dict[int, int], tz: ZoneInfo) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i, (meeting, record) in enumerate(held, start=1):
        local = record.held_at.astimezone(tz)
        rows.append([i, local.strftime("%Y-%m-%d"), local.strftime("%H:%M"), KIND_NAMES[MeetingKind(meeting.kind)],
                     title_of(meeting), meeting.topic, meeting.place, record.host, record.recorder, record.invited,
                     record.present, record.on_leave, record.absent, "、".join(names(record.leave_names)),
                     "、".join(names(record.absent_names)), photos.get(id_of(meeting), 0)])
    return rows


def ledger_xlsx(org: Organisation, year: int, rows: list[list[Any]]) -> bytes:
    import openpyxl  # imported on use: the service starts faster without it
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{year}年台账"
    sheet.append([f"{org.name} {year} 年三会一课台账"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    if not rows:
        sheet.append(["", "", "", "（本年度还没有记录为已召开的会议）"])
    for i, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for row_cells in sheet.iter_rows(min_row=3):
        for cell in row_cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _ledger(session: AsyncSession, org: Organisation, year: int, tz: ZoneInfo) -> web.Response:
    since, until = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    held = await held_meetings(session=session, org_id=id_of(org), since=since, until=until)
    photos = await photo_count(session=session, meeting_ids=[id_of(m) for m, _r in held])
    body = ledger_xlsx(org, year, ledger_rows(held, photos, tz))
    filename = f"ledger-{org.code}-{year}.xlsx"
    return web.Response(body=body, content_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{filename}",
        "Cache-Control": "no-store"})


async def ledger_by_link(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read = read_ledger_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    if read is None:
        return message_page("无法打开", BAD_LINK, status=403)
    org_id, person_id, year = read
    async with request.app[SESSIONS]() as session:
        org = await session.get(Organisation, org_id)
        if org is None or covering(await role_orgs(session, person_id), org) is None:
            return message_page("无权查看", "这个组织不在您的管理范围内。", status=403)
        return await _ledger(session, org, year, settings.tz)


async def ledger_by_api(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        try:
            token, scope = await authorised(session, request)
            org = await queried_org(session, request, scope)
            raw_year = request.query.get("year", str(datetime.now(settings.tz).year))
            if not (raw_year.isdigit() and 2000 <= int(raw_year) <= 2100):
                raise Refusal(RefusalKind.bad_request, "bad_year", "year 应为四位年份，如 2026")
        except Refusal as refusal:
            return await refused(session, refusal, token, action="meeting.ledger_refused")
        return await _ledger(session, org, int(raw_year), settings.tz)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/ledger/{token}.xlsx", ledger_by_link)
    app.router.add_get("/api/meetings/ledger.xlsx", ledger_by_api)
