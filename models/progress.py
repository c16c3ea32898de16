"""How far a notice got: deliveries per person, replies and the recipients' primary organisations,
counted with a handful of set-based queries (never one per person)."""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.delivery import Delivery, DeliveryStatus, Purpose
from models.engagement import Engagement, EngagementKind
from models.notice import Notice, NoticeStatus
from models.organisation import Organisation
from models.person import Membership, Person

OPEN = (DeliveryStatus.pending, DeliveryStatus.in_flight, DeliveryStatus.retry)
NO_ORG = "未分组"


@dataclass(slots=True)
class OrgProgress:
    name: str
    people: int = 0
    sent: int = 0
    acked: int = 0


@dataclass(slots=True)
class Progress:
    notice: Notice
    total: int = 0
    sent: int = 0
    sending: int = 0
    failed: int = 0
    failed_reason: str = ""  # the most common reason among the undelivered
    acked: int = 0
    done: int = 0
    orgs: list[OrgProgress] = field(default_factory=list)  # most people first
    unacked: list[str] = field(default_factory=list)  # names, in person order


async def find_notice(
    session: AsyncSession, *, person_id: int, scope_paths: list[str], notice_id: int | None = None
) -> Notice | None:
    """Notice `notice_id` if an organisation inside one of `scope_paths` issued it; without a
    number, the newest notice the person wrote or one of those organisations issued."""
    in_scope = or_(*(col(Organisation.path).startswith(path) for path in scope_paths)) if scope_paths else None
    query = (
        select(Notice)
        .join(Organisation, Organisation.id == Notice.org_id)  # type: ignore[arg-type]
        .where(Notice.status == NoticeStatus.confirmed)
    )
    if notice_id is not None:
        if in_scope is None:
            return None
        return (await session.exec(query.where(Notice.id == notice_id, in_scope))).first()
    mine = Notice.author_person_id == person_id
    query = query.where(or_(mine, in_scope) if in_scope is not None else mine)
    return (await session.exec(query.order_by(col(Notice.id).desc()).limit(1))).first()


async def notice_progress(session: AsyncSession, notice: Notice) -> Progress:
    """Per person: delivered when any row was sent, sending when none was but one is still open,
    otherwise undelivered."""
    result = Progress(notice=notice)
    is_sent = func.max(case((Delivery.status == DeliveryStatus.sent, 1), else_=0))
    is_open = func.max(case((col(Delivery.status).in_(OPEN), 1), else_=0))
    per_person = await session.exec(  # type: ignore[call-overload]
        select(Delivery.person_id, is_sent, is_open)
        .where(Delivery.notice_id == notice.id, Delivery.purpose == Purpose.notice)
        .group_by(Delivery.person_id)
    )
    state: dict[int, str] = {}
    for person_id, sent, pending in per_person:
        state[person_id] = "sent" if sent else "sending" if pending else "failed"
    if not state:
        return result
    replies = await session.exec(
        select(Engagement.person_id, Engagement.kind).where(Engagement.notice_id == notice.id)
    )
    acked: set[int] = set()
    done: set[int] = set()
    for person_id, kind in replies:
        (acked if kind == EngagementKind.acked else done).add(person_id)
    failed_rows = await session.exec(
        select(Delivery.person_id, Delivery.reason).where(
            Delivery.notice_id == notice.id,
            Delivery.purpose == Purpose.notice,
            Delivery.status == DeliveryStatus.failed,
        )
    )
    reasons = Counter(reason for person_id, reason in failed_rows if state.get(person_id) == "failed" and reason)
    recipients = (
        select(Delivery.person_id)
        .where(Delivery.notice_id == notice.id, Delivery.purpose == Purpose.notice)
        .distinct()
    )
    people = await session.exec(  # type: ignore[call-overload]
        select(Person.id, Person.name, Organisation.name)
        .outerjoin(Membership, and_(Membership.person_id == Person.id, col(Membership.is_primary)))
        .outerjoin(Organisation, Organisation.id == Membership.org_id)
        .where(col(Person.id).in_(recipients))
        .order_by(Person.id)
    )
    orgs: dict[str, OrgProgress] = {}
    for person_id, name, org_name in people:
        org = orgs.setdefault(org_name or NO_ORG, OrgProgress(org_name or NO_ORG))
        org.people += 1
        org.sent += state.get(person_id) == "sent"
        org.acked += person_id in acked
        if person_id not in acked:
            result.unacked.append(name)
    counts = Counter(state.values())
    result.total = len(state)
    result.sent, result.sending, result.failed = counts["sent"], counts["sending"], counts["failed"]
    result.failed_reason = reasons.most_common(1)[0][0] if reasons else ""
    result.acked = len(acked & state.keys())
    result.done = len(done & state.keys())
    result.orgs = sorted(orgs.values(), key=lambda o: (-o.people, o.name))
    return result
