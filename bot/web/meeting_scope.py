"""What the secretary's meeting pages share: the meeting a signed link names, when the person holds a
role over it, with its attendance now."""

from datetime import datetime

from aiohttp import web
from sqlmodel import col, select

from bot.keys import SESSIONS, SETTINGS
from bot.web.layout import message_page
from models.meeting import Attendance, Meeting, attendance_of, find_meeting
from models.organisation import Organisation
from models.person import Role

NOT_YOURS = "这次会议不在您的管理范围内。"


async def meeting_in_scope(request: web.Request, read: tuple[int, int] | None, bad_link: str
                           ) -> tuple[Meeting, Organisation, Attendance] | web.Response:
    """The meeting of a signed link's (meeting id, person id), or the page refusing it."""
    if read is None:
        return message_page("无法打开", bad_link, status=403)
    meeting_id, person_id = read
    now = datetime.now(request.app[SETTINGS].tz)
    async with request.app[SESSIONS]() as session:
        paths = list((await session.exec(select(Organisation.path).join(Role, col(Role.org_id) == Organisation.id)
                                         .where(Role.person_id == person_id))).all())
        found = await find_meeting(session=session, scope_paths=paths, meeting_id=meeting_id, now=now)
        if found is None:
            if await session.get(Meeting, meeting_id) is None:
                return message_page("无法打开", bad_link, status=403)
            return message_page("无权查看", NOT_YOURS, status=403)
        meeting, org = found
        return meeting, org, await attendance_of(session=session, meeting=meeting, org=org, now=now)


def no_store(response: web.Response) -> web.Response:
    response.headers["Cache-Control"] = "no-store"
    return response
