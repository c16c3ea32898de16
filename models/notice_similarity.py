"""社区减负 (lightening the communities' load): before a notice goes out, find one that went to the
same organisations in the last 24 h with (almost) the same text, so the secretary is warned before
people get the same message twice."""

import unicodedata
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notice import Notice, NoticeStatus
from models.organisation import Organisation, in_subtree

WINDOW = timedelta(hours=24)
MIN_RATIO = 0.85


def normalise(text: str) -> str:
    """Full-width folded (NFKC), lower case, without whitespace, punctuation or symbols: "明天 停水！"
    and "明天停水!" are the same notice."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZSC")


def is_similar(a: str, b: str) -> bool:
    left, right = normalise(a), normalise(b)
    if left == right:
        return True
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    # The cheap upper bounds first: most pairs are told apart without the full comparison.
    return matcher.real_quick_ratio() >= MIN_RATIO and matcher.quick_ratio() >= MIN_RATIO and (
        matcher.ratio() >= MIN_RATIO
    )


def _overlap(paths: list[str], others: list[str]) -> bool:
    """Same organisation, or one inside the other's subtree."""
    return any(in_subtree(a, b) or in_subtree(b, a) for a in paths for b in others)


def _targets(notice: Notice) -> list[int]:
    return notice.target_org_ids or [notice.org_id]


async def similar_recent(
    session: AsyncSession, org_ids: list[int], text: str, now: datetime, window: timedelta = WINDOW
) -> Notice | None:
    """The newest confirmed notice within `window` before `now` to an overlapping set of organisations
    whose text is equal or nearly so (SequenceMatcher ratio ≥ 0.85 on the normalised texts)."""
    recent = list(
        await session.exec(
            select(Notice)
            .where(Notice.status == NoticeStatus.confirmed, col(Notice.confirmed_at) >= (now - window).astimezone(UTC))
            .order_by(col(Notice.id).desc())
        )
    )
    if not recent:
        return None
    wanted = set(org_ids) | {i for n in recent for i in _targets(n)}
    paths = dict(
        (await session.exec(select(Organisation.id, Organisation.path).where(col(Organisation.id).in_(wanted)))).all()
    )
    mine = [paths[i] for i in org_ids if i in paths]
    for notice in recent:
        theirs = [paths[i] for i in _targets(notice) if i in paths]
        if _overlap(mine, theirs) and is_similar(text, notice.text):
            return notice
    return None


def when_label(at: datetime, now: datetime) -> str:
    """"今天 09:30" / "昨天 21:00" in the time zone of `now`."""
    local = at.astimezone(now.tzinfo)
    day = {0: "今天", 1: "昨天"}.get((now.date() - local.date()).days, f"{local:%m月%d日}")
    return f"{day} {local:%H:%M}"


def warning(notice: Notice, now: datetime) -> str:
    assert notice.confirmed_at is not None
    return f"24小时内已向相同组织发过相似通知（第 {notice.id} 号，{when_label(notice.confirmed_at, now)}）"
