"""What the dispatcher needs to say about each subject its claimed rows carry: the text a row without
a body of its own sends, and whether the subject is urgent (never merged into a digest) and asks for
收到. One query per kind; a new kind (a meeting, an invitation) adds its own branch here."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notice import Notice, Urgency
from models.subject import Subject, SubjectKind


@dataclass(frozen=True, slots=True)
class SubjectText:
    text: str
    urgent: bool
    wants_receipt: bool


async def subject_texts(*, session: AsyncSession, subjects: Iterable[Subject]) -> dict[Subject, SubjectText]:
    notice_ids = sorted({s.id for s in subjects if s.kind == SubjectKind.notice})
    found: dict[Subject, SubjectText] = {}
    if notice_ids:
        rows = await session.exec(
            select(Notice.id, Notice.text, Notice.urgency, Notice.wants_receipt).where(col(Notice.id).in_(notice_ids))
        )
        for notice_id, text, urgency, receipt in rows:
            found[Subject.notice(notice_id)] = SubjectText(text, urgency == Urgency.urgent, receipt)
    return found
