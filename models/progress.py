"""How far a notice got: deliveries per person, replies and the recipients' organisations, counted
with a handful of set-based queries (never one per person), so 10,000 recipients stay fast."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import aware, utcnow
from models.delivery import UNKNOWN_REASON, Delivery, DeliveryStatus, Purpose
from models.engagement import Engagement, EngagementKind
from models.notice import Notice, NoticeStatus
from models.organisation import Organisation, in_subtree, in_subtree_of
from models.person import Membership, Person, Role
from models.subject import of_notice
from models.typed import col_not_none

OPEN = (DeliveryStatus.pending, DeliveryStatus.in_flight, DeliveryStatus.sending, DeliveryStatus.retry)
NO_ORG = "未分组"
SENT, SENDING, UNKNOWN, FAILED = "sent", "sending", "unknown", "failed"


@dataclass(slots=True)
class OrgProgress:
    name: str
    people: int = 0
    sent: int = 0
    sending: int = 0
    failed: int = 0
    unknown: int = 0
    acked: int = 0
    done: int = 0
    unacked: list[str] = field(default_factory=list)  # names, in person order
    undone: list[str] = field(default_factory=list)  # a task's people who have not reported 完成

    def share(self, count: int) -> int:
        """Percent of the organisation's people, for the bars."""
        return round(100 * count / self.people) if self.people else 0


@dataclass(frozen=True, slots=True)
class Undelivered:
    name: str
    org: str
    reason: str
    unknown: bool  # settled as unknown: it may have arrived


@dataclass(frozen=True, slots=True)
class DoneNote:
    """What a person wrote after 完成, for the issuer to read."""

    name: str
    org: str
    note: str


@dataclass(slots=True)
class Progress:
    notice: Notice
    total: int = 0
    sent: int = 0
    sending: int = 0
    failed: int = 0
    unknown: int = 0  # the sender died mid-send on a channel that cannot be retried safely
    waiting: int = 0  # of `sending`: not tried yet and not due yet (quiet hours, a digest slot)
    waiting_until: datetime | None = None  # when the first of them is due (UTC)
    failed_reason: str = ""  # the most common reason among the undelivered
    acked: int = 0
    done: int = 0
    orgs: list[OrgProgress] = field(default_factory=list)  # most people first
    unacked: list[str] = field(default_factory=list)  # names, in person order
    undelivered: list[Undelivered] = field(default_factory=list)  # failed and unknown, by organisation
    notes: list[DoneNote] = field(default_factory=list)  # 完成 notes, in person order


async def find_notice(
    session: AsyncSession, *, person_id: int, scope_paths: list[str], notice_id: int | None = None
) -> Notice | None:
    """Notice `notice_id` if an organisation inside one of `scope_paths` issued it; without a
    number, the newest notice the person wrote, else the newest one of those organisations issued
    (a district secretary asking 进度 means their own notice, not a street's task passed down since)."""
    in_scope = or_(*(in_subtree_of(path) for path in scope_paths)) if scope_paths else None
    query = (
        select(Notice)
        .join(Organisation, col(Organisation.id) == Notice.org_id)
        .where(Notice.status == NoticeStatus.confirmed)
    )
    if notice_id is not None:
        if in_scope is None:
            return None
        return (await session.exec(query.where(Notice.id == notice_id, in_scope))).first()
    newest = col(Notice.id).desc()
    own = (await session.exec(query.where(Notice.author_person_id == person_id).order_by(newest).limit(1))).first()
    if own is not None or in_scope is None:
        return own
    return (await session.exec(query.where(in_scope).order_by(newest).limit(1))).first()


async def may_follow(session: AsyncSession, *, person_id: int, notice: Notice) -> bool:
    """Whether the person still holds a role over the organisation that issued the notice: checked on
    every page view, so a secretary who leaves the post loses the link's access too."""
    issuer = await session.get(Organisation, notice.org_id)
    if issuer is None:
        return False
    role_paths = await session.exec(
        select(Organisation.path)
        .join(Role, col(Role.org_id) == Organisation.id)
        .where(Role.person_id == person_id)
    )
    return any(in_subtree(issuer.path, path) for path in role_paths)


def _any(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 when any of the person's rows meets the condition."""
    return func.max(case((condition, 1), else_=0))


def _state(sent: int, pending: int, unknown: int) -> str:
    # Delivered wins over everything; an unknown row may have arrived, so it outranks a plain failure.
    return SENT if sent else SENDING if pending else UNKNOWN if unknown else FAILED


def _held(now: datetime) -> ColumnElement[bool]:
    """A row that has not been tried yet and is not due yet: held by the quiet hours or a digest slot."""
    return and_(col(Delivery.status) == DeliveryStatus.pending, col(Delivery.attempts) == 0,
                col(Delivery.next_attempt_at) > now)


async def notice_progress(session: AsyncSession, notice: Notice) -> Progress:
    """Per person, over the rows of the notice itself (reminders are extra messages to the same
    people): delivered when any row was sent, sending when none was but one is still open, unknown
    when a row's fate is unknown, otherwise undelivered. A person counts under the organisation they
    were addressed through, else their primary organisation."""
    result = Progress(notice=notice)
    now = utcnow()
    rows = and_(of_notice(Delivery, notice.id), col(Delivery.purpose) == Purpose.notice)
    per_person = await session.exec(
        select(  # type: ignore[call-overload]  # SQLModel's select() is typed for at most four columns
            Delivery.person_id,
            _any(col(Delivery.status) == DeliveryStatus.sent),
            _any(col(Delivery.status).in_(OPEN)),
            _any(col(Delivery.status) == DeliveryStatus.unknown),
            func.max(Delivery.org_id),
            _any(and_(col(Delivery.status).in_(OPEN), ~_held(now))),
            func.min(case((_held(now), Delivery.next_attempt_at))),
        )
        .where(rows)
        .group_by(Delivery.person_id)
    )
    state: dict[int, str] = {}
    addressed: dict[int, int] = {}
    for person_id, sent, pending, unknown, org_id, moving, held_until in per_person:
        state[person_id] = _state(sent, pending, unknown)
        if state[person_id] == SENDING and not moving and held_until is not None:
            # Nothing of the person's is out or due: the notice waits (quiet hours, a digest slot).
            result.waiting += 1
            until = aware(held_until)
            result.waiting_until = min(result.waiting_until or until, until)
        if org_id is not None:
            addressed[person_id] = org_id
    if not state:
        return result
    acked, done, notes = await _replies(session, notice)
    acked |= done  # 完成 implies 收到: one truth in every figure
    reasons = await _reasons(session, notice, state)
    recipients = select(Delivery.person_id).where(rows).distinct()
    people = await session.exec(
        select(col_not_none(Person.id), Person.name, Organisation.name)
        .outerjoin(Membership, and_(col(Membership.person_id) == Person.id, col(Membership.is_primary)))
        .outerjoin(Organisation, col(Organisation.id) == Membership.org_id)
        .where(col(Person.id).in_(recipients))
        .order_by(col(Person.id))
    )
    org_names: dict[int, str] = {}
    if addressed:
        named = await session.exec(
            select(col_not_none(Organisation.id), Organisation.name)
            .where(col(Organisation.id).in_(set(addressed.values())))
        )
        org_names = dict(named.all())
    is_task = notice.deadline is not None
    orgs: dict[str, OrgProgress] = {}
    for person_id, name, primary_org in people:
        org_name = org_names.get(addressed.get(person_id, -1)) or primary_org or NO_ORG
        org = orgs.setdefault(org_name, OrgProgress(org_name))
        person_state = state[person_id]
        org.people += 1
        org.sent += person_state == SENT
        org.sending += person_state == SENDING
        org.unknown += person_state == UNKNOWN
        org.failed += person_state == FAILED
        org.acked += person_id in acked
        org.done += person_id in done
        if person_id not in acked:
            org.unacked.append(name)
            result.unacked.append(name)
        if is_task and person_id not in done:
            org.undone.append(name)
        if notes.get(person_id):
            result.notes.append(DoneNote(name, org_name, notes[person_id]))
        if person_state in (UNKNOWN, FAILED):
            reason = reasons.get(person_id) or (UNKNOWN_REASON if person_state == UNKNOWN else "")
            result.undelivered.append(Undelivered(name, org_name, reason, person_state == UNKNOWN))
    counts = Counter(state.values())
    result.total = len(state)
    result.sent, result.sending = counts[SENT], counts[SENDING]
    result.failed, result.unknown = counts[FAILED], counts[UNKNOWN]
    failed_reasons = Counter(reasons[p] for p, s in state.items() if s == FAILED and reasons.get(p))
    result.failed_reason = failed_reasons.most_common(1)[0][0] if failed_reasons else ""
    result.acked = len(acked & state.keys())
    result.done = len(done & state.keys())
    result.orgs = sorted(orgs.values(), key=lambda o: (-o.people, o.name))
    result.undelivered.sort(key=lambda u: u.org)  # stable: person order within an organisation
    return result


async def _replies(session: AsyncSession, notice: Notice) -> tuple[set[int], set[int], dict[int, str]]:
    """Who answered 收到, who reported 完成, and the notes written with 完成."""
    replies = await session.exec(
        select(Engagement.person_id, Engagement.kind, Engagement.note).where(of_notice(Engagement, notice.id))
    )
    acked: set[int] = set()
    done: set[int] = set()
    notes: dict[int, str] = {}
    for person_id, kind, note in replies:
        (acked if kind == EngagementKind.acked else done).add(person_id)
        if kind == EngagementKind.done and note:
            notes[person_id] = note
    return acked, done, notes


async def _reasons(session: AsyncSession, notice: Notice, state: dict[int, str]) -> dict[int, str]:
    """The reason each undelivered person shows: their last failed row's, or their unknown row's."""
    settled = await session.exec(
        select(Delivery.person_id, Delivery.status, Delivery.reason)
        .where(
            of_notice(Delivery, notice.id),
            Delivery.purpose == Purpose.notice,
            col(Delivery.status).in_([DeliveryStatus.failed, DeliveryStatus.unknown]),
        )
        .order_by(col(Delivery.id))
    )
    reasons: dict[int, str] = {}
    for person_id, status, reason in settled:
        if reason and status == state.get(person_id):
            reasons[person_id] = reason
    return reasons
