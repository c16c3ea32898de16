"""Meeting photos (纪实): the pictures a secretary sends within 3 hours after a meeting, kept with its
record. The callback only notes a photo (pending, with its MediaId); a fetcher in bot/ claims pending
ones, downloads them from WeChat's temporary media (kept there for 3 days only) and stores the bytes
here. One row per (platform, media id): a repeated callback stores one photo. This module writes
every row of the table."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint, func, or_, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulk import chunks, insert_ignoring_conflicts
from models.clock import utcnow
from models.identity import Platform
from models.meeting import Meeting, MeetingStatus, ends_at
from models.organisation import Organisation
from models.typed import col_not_none, id_of

MEDIA_ID_LIMIT = 200  # MP media ids are 64 characters, WeCom's longer
ERROR_LIMIT = 300
# Photos belong to the meeting under way or ended at most this long ago.
PHOTOS_AFTER = timedelta(hours=3)
# WeChat keeps temporary media this long: a photo not fetched by then can no longer be.
MEDIA_KEPT = timedelta(days=3)
MAX_MEETING = timedelta(hours=24)  # the longest meeting the API accepts (bot/web/api_meetings.py)


class PhotoStatus(StrEnum):
    pending = "pending"  # noted; the fetcher downloads it (again, after a transient failure)
    stored = "stored"  # the bytes are here
    failed = "failed"  # for good, with the reason in `error`


class MeetingPhoto(SQLModel, table=True):
    __tablename__ = "meeting_photo"
    __table_args__ = (
        UniqueConstraint("platform", "media_id", name="uq_meeting_photo_media"),
        # What the fetcher claims: pending rows whose next attempt is due.
        Index("ix_meeting_photo_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    platform: Platform = Field(sa_type=String(10))
    media_id: str = Field(max_length=MEDIA_ID_LIMIT)
    sent_by_person_id: int = Field(foreign_key="person.id")
    received_at: datetime
    status: PhotoStatus = Field(default=PhotoStatus.pending, sa_type=String(10))
    attempts: int = 0
    next_attempt_at: datetime  # when a pending photo is due for its (next) download
    lease_until: datetime | None = None  # a fetcher holds it until then (a dead one gives it up)
    content_type: str = Field(default="", max_length=100)
    size: int | None = None
    data: bytes | None = Field(default=None, sa_type=LargeBinary)  # None until stored
    error: str = Field(default="", max_length=ERROR_LIMIT)  # the last failure's reason, for people
    fetched_at: datetime | None = None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


async def meeting_for_photos(*, session: AsyncSession, scope_paths: Sequence[str],
                             now: datetime) -> tuple[Meeting, Organisation] | None:
    """The meeting a photo sent now belongs to: organised within one of the scopes, not cancelled,
    started before now and ended at most PHOTOS_AFTER ago (one under way counts); of several, the
    one that started last."""
    if not scope_paths:
        return None
    found = await session.exec(
        select(Meeting, Organisation).join(Organisation, col(Organisation.id) == Meeting.org_id)
        .where(or_(*(col(Organisation.path).startswith(p) for p in scope_paths)),
               col(Meeting.status).in_([MeetingStatus.scheduled.value, MeetingStatus.held.value]),
               col(Meeting.starts_at) <= now, col(Meeting.starts_at) >= now - PHOTOS_AFTER - MAX_MEETING)
        .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc()))
    # The end is start + minutes: compared here rather than in SQL, where date arithmetic differs.
    return next(((m, o) for m, o in found.all() if ends_at(m) >= now - PHOTOS_AFTER), None)


async def note_photo(*, session: AsyncSession, meeting_id: int, platform: Platform, media_id: str,
                     person_id: int, now: datetime) -> bool:
    """A photo to fetch, due at once; False when this media id was noted before (a repeated
    callback). The caller commits."""
    row = {"meeting_id": meeting_id, "platform": platform.value, "media_id": media_id[:MEDIA_ID_LIMIT],
           "sent_by_person_id": person_id, "received_at": _utc(now), "status": PhotoStatus.pending.value,
           "attempts": 0, "next_attempt_at": _utc(now), "content_type": "", "error": ""}
    return await insert_ignoring_conflicts(session=session, table=MeetingPhoto, rows=[row],
                                           key=("platform", "media_id")) == 1


@dataclass(frozen=True, slots=True)
class PendingPhoto:
    """A claimed photo: what the fetcher needs to download it."""

    id: int
    platform: Platform
    media_id: str
    attempts: int  # including this one
    received_at: datetime


async def claim_pending(*, session: AsyncSession, limit: int, lease: timedelta,
                        now: datetime | None = None) -> list[PendingPhoto]:
    """Up to `limit` pending photos due now, held for `lease` by this fetcher (a claim whose lease ran
    out is taken again: its fetcher died). On PostgreSQL, SKIP LOCKED lets several instances claim
    side by side; the lease condition is checked again on the row itself, so two never hold one
    photo. The caller commits before downloading."""
    now = now or utcnow()
    free = or_(col(MeetingPhoto.lease_until).is_(None), col(MeetingPhoto.lease_until) < now)
    due = (col(MeetingPhoto.status) == PhotoStatus.pending.value, col(MeetingPhoto.next_attempt_at) <= now, free)
    picked = select(col_not_none(MeetingPhoto.id)).where(*due).order_by(col(MeetingPhoto.next_attempt_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    result = await session.exec(
        update(MeetingPhoto)
        .where(col(MeetingPhoto.id).in_(picked.scalar_subquery()), *due)
        .values(lease_until=now + lease, attempts=MeetingPhoto.attempts + 1)
        .returning(col(MeetingPhoto.id), col(MeetingPhoto.platform), col(MeetingPhoto.media_id),
                   col(MeetingPhoto.attempts), col(MeetingPhoto.received_at))
    )
    return [PendingPhoto(i, Platform(p), m, a, r) for i, p, m, a, r in result.all()]


async def mark_stored(*, session: AsyncSession, photo_id: int, data: bytes, content_type: str,
                      now: datetime | None = None) -> bool:
    """The photo's bytes, kept; False when it was settled already (by another fetcher whose lease
    outlived ours). The caller commits."""
    result = await session.exec(
        update(MeetingPhoto)
        .where(col(MeetingPhoto.id) == photo_id, col(MeetingPhoto.status) == PhotoStatus.pending.value)
        .values(status=PhotoStatus.stored.value, data=data, size=len(data), content_type=content_type[:100],
                fetched_at=now or utcnow(), lease_until=None, error="")
    )
    return bool(result.rowcount)


async def mark_failed(*, session: AsyncSession, photo_id: int, error: str) -> bool:
    """The photo cannot be fetched (expired at WeChat, not an image, too large, attempts spent): failed
    for good with the reason. The caller commits."""
    result = await session.exec(
        update(MeetingPhoto)
        .where(col(MeetingPhoto.id) == photo_id, col(MeetingPhoto.status) == PhotoStatus.pending.value)
        .values(status=PhotoStatus.failed.value, error=error[:ERROR_LIMIT], lease_until=None)
    )
    return bool(result.rowcount)


async def retry_later(*, session: AsyncSession, photo_id: int, error: str, at: datetime) -> bool:
    """A transient failure (network, WeChat busy): still pending, due again at `at`, the reason kept."""
    result = await session.exec(
        update(MeetingPhoto)
        .where(col(MeetingPhoto.id) == photo_id, col(MeetingPhoto.status) == PhotoStatus.pending.value)
        .values(next_attempt_at=_utc(at), error=error[:ERROR_LIMIT], lease_until=None)
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class PhotoInfo:
    """A photo without its bytes (a meeting's list, the 台账)."""

    id: int
    meeting_id: int
    platform: Platform
    sent_by_person_id: int
    received_at: datetime
    status: PhotoStatus
    attempts: int
    content_type: str
    size: int | None
    error: str
    fetched_at: datetime | None


# The data column as the loader option wants it (mypy sees the model's attribute as its value type).
_DATA = cast("QueryableAttribute[bytes | None]", MeetingPhoto.data)


async def photos_of(*, session: AsyncSession, meeting_id: int) -> list[PhotoInfo]:
    """The meeting's photos in the order they were sent, whatever their state; the bytes stay in the
    database (photo_data)."""
    found = await session.exec(
        select(MeetingPhoto).options(defer(_DATA))  # the bytes stay in the database
        .where(MeetingPhoto.meeting_id == meeting_id).order_by(col(MeetingPhoto.received_at), col(MeetingPhoto.id)))
    return [PhotoInfo(id_of(p), p.meeting_id, Platform(p.platform), p.sent_by_person_id, p.received_at,
                      PhotoStatus(p.status), p.attempts, p.content_type, p.size, p.error, p.fetched_at)
            for p in found.all()]


async def photo_count(*, session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, int]:
    """Stored photos per meeting (0 for a meeting without any): what its record keeps."""
    ids = sorted(set(meeting_ids))
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    for part in chunks(ids):  # a street's year of meetings stays under the bound-parameter limits
        found = await session.exec(
            select(col(MeetingPhoto.meeting_id), func.count())
            .where(col(MeetingPhoto.meeting_id).in_(part), col(MeetingPhoto.status) == PhotoStatus.stored.value)
            .group_by(col(MeetingPhoto.meeting_id)))
        counts.update({meeting_id: int(n) for meeting_id, n in found.all()})
    return counts


async def photo_data(*, session: AsyncSession, photo_id: int,
                     meeting_id: int | None = None) -> tuple[str, bytes] | None:
    """A stored photo's content type and bytes (with `meeting_id`: only if it is that meeting's);
    None when there is no such photo or it is not stored."""
    query = select(col(MeetingPhoto.content_type), col(MeetingPhoto.data)).where(
        MeetingPhoto.id == photo_id, col(MeetingPhoto.status) == PhotoStatus.stored.value)
    if meeting_id is not None:
        query = query.where(MeetingPhoto.meeting_id == meeting_id)
    found = (await session.exec(query)).first()
    if found is None or found[1] is None:
        return None
    return found[0], found[1]
