"""A member's meetings over a span of time, whatever became of them: what their calendar feed shows.
Unlike `open_meetings_for` (what they can still answer), held and cancelled meetings stay, so that a
phone calendar that once showed a meeting learns it was cancelled instead of seeing it vanish."""

from datetime import datetime

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.meeting import Meeting, candidate_meetings, is_invited


async def meetings_of(*, session: AsyncSession, person_id: int, since: datetime, until: datetime) -> list[Meeting]:
    """Every meeting the person is invited to that starts at or after `since` and before `until`,
    in any status, soonest first."""
    query = await candidate_meetings(session=session, person_id=person_id)
    if query is None:
        return []
    candidates = (await session.exec(
        query.where(col(Meeting.starts_at) >= since, col(Meeting.starts_at) < until)
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )).all()
    return [m for m in candidates if await is_invited(session=session, meeting=m, person_id=person_id)]
