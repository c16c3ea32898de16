"""签到: when a member may sign in to a meeting, and the code that proves they are in the room.

Sign-in is open from 30 minutes before the start to 60 minutes after it. To stop sign-in from home,
the secretary's phone page shows the meeting's code (4 digits) and a QR code carrying it, both
changing every minute: the code is an HMAC of the meeting and the minute under the service's secret,
so every instance computes the same code without storing it, and a code read out a minute ago still
works (a code of the minute before is accepted; a scanned QR, which WeChat keeps valid for two
minutes, also one more). Secretaries may sign a member in by hand (补签), with a reason."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_audit
from models.engagement import EngagementKind, record
from models.meeting import Meeting
from models.subject import Subject, SubjectKind
from models.typed import id_of

OPENS_BEFORE = timedelta(minutes=30)
CLOSES_AFTER = timedelta(minutes=60)
PERIOD_SECONDS = 60
CODE_DIGITS = 4
TYPED_GRACE = 1  # periods back a typed code is still taken
SCANNED_GRACE = 2  # a QR code lives for two minutes at WeChat (bot/web/signin_page.py asks for 120 s)
SCENE_PREFIX = "signin:"


def signin_opens(meeting: Meeting) -> datetime:
    return meeting.starts_at - OPENS_BEFORE


def signin_closes(meeting: Meeting) -> datetime:
    return meeting.starts_at + CLOSES_AFTER


def signin_open(meeting: Meeting, now: datetime) -> bool:
    return signin_opens(meeting) <= now < signin_closes(meeting)


def period_of(now: datetime) -> int:
    return int(now.astimezone(UTC).timestamp()) // PERIOD_SECONDS


def signin_code(secret: str, meeting_id: int, period: int) -> str:
    digest = hmac.new(secret.encode(), f"signin/{meeting_id}/{period}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


def current_code(secret: str, meeting_id: int, now: datetime) -> str:
    return signin_code(secret, meeting_id, period_of(now))


def code_is_valid(secret: str, meeting_id: int, code: str, now: datetime, *, grace: int = TYPED_GRACE) -> bool:
    period = period_of(now)
    return any(hmac.compare_digest(signin_code(secret, meeting_id, period - back), code) for back in range(grace + 1))


def signin_scene(meeting_id: int, code: str) -> str:
    """The QR code's scene string (WeChat allows 64 characters): `signin:12:4821`."""
    return f"{SCENE_PREFIX}{meeting_id}:{code}"


def read_scene(scene: str) -> tuple[int, str] | None:
    """(meeting id, code) of a sign-in scene, None for anything else (a community's code)."""
    if not scene.startswith(SCENE_PREFIX):
        return None
    meeting, _, code = scene.removeprefix(SCENE_PREFIX).partition(":")
    if not meeting.isdigit() or not code.isdigit():
        return None
    return int(meeting), code


async def sign_in(*, session: AsyncSession, meeting: Meeting, person_id: int, actor: str, how: str,
                  by: int | None = None, reason: str = "") -> bool:
    """Records the sign-in (once: False when the member had signed in already) and audits it: `how`
    is code, scan or 补签 (`by` the secretary, with the reason). Not committed."""
    subject = Subject(SubjectKind.meeting, id_of(meeting))
    new = await record(session, subject, person_id, EngagementKind.signed_in, reason)
    if new:
        record_audit(session=session, action="meeting.signed_in" if by is None else "meeting.signed_in_by_hand",
                     actor=actor, actor_person_id=by if by is not None else person_id, org_id=meeting.org_id,
                     meeting_id=meeting.id, person_id=person_id, how=how, reason=reason or None)
    return new
