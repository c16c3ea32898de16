"""Re-reminders (DESIGN.md §1): a person who has not answered 收到 is reminded again, no sooner than
`after` since the last message about the notice and at most `max_rounds` times; once the last reminder
is `after` old too, their branch secretary gets one list of the names.

Every message is an outbox row queued through models/outbox.py, so reminders get the dispatcher's
claims, retries and fallbacks, and two instances running the same job at the same time write each
message once (the message key: subject, person, channel, purpose, round)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient, load_recipients
from models.bulk import chunks
from models.channel_plan import ChannelChoice, first_choice
from models.delivery import Channel, Delivery, DeliveryStatus, Purpose
from models.engagement import Engagement, EngagementKind
from models.notice import Notice, NoticeStatus, Urgency
from models.organisation import Organisation
from models.outbox import queue_messages
from models.person import Membership, Person, PersonKind, Role, RoleKind
from models.role_holders import ROLE_RANK
from models.subject import Subject, of_notice, of_notices
from models.typed import col_not_none

LOOKBACK = timedelta(days=7)  # older notices are no longer chased
REMINDER_SNIPPET = 40
LIST_SNIPPET = 20
NAMES_SHOWN = 20
# Who receives the list when an organisation has several role holders: the secretary first.
TIMES = {1: "一次", 2: "两次", 3: "三次", 4: "四次", 5: "五次"}

UNREACHABLE_NOW = "微信已无法送达（已取消关注或已解绑），提醒未能发出"
UNREACHABLE_MARK = "（微信已无法送达）"  # after a name on the secretary's list: call, don't message


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A person who got a notice, has not answered 收到, and whose last message about it is old enough."""

    notice_id: int
    person_id: int
    rounds: int  # reminders written so far
    org_id: int | None  # the organisation the notice addressed them through, if any


@dataclass(frozen=True, slots=True)
class DueReminders:
    remind: list[Unanswered]  # fewer than max_rounds reminders so far: one more
    exhausted: list[Unanswered]  # all reminders spent: to their branch secretary's list


@dataclass(frozen=True, slots=True)
class ReminderCounts:
    reminders: int = 0
    missing_lists: int = 0
    unreachable: int = 0  # due, but no channel reaches the person (or secretary) any more

    @property
    def written(self) -> int:
        return self.reminders + self.missing_lists


async def due_reminders(
    session: AsyncSession, *, now: datetime, after: timedelta, max_rounds: int, urgent_only: bool = False
) -> DueReminders:
    """One grouped query over the outbox of recent notices that want 收到: each (notice, person) whose
    notice row was sent, who has not answered, and whose last message (the notice, or the newest
    reminder: sent, or due to be sent) is at least `after` ago."""
    is_notice = col(Delivery.purpose) == Purpose.notice
    is_reminder = col(Delivery.purpose) == Purpose.reminder
    notice_sent = func.max(case((and_(is_notice, col(Delivery.status) == DeliveryStatus.sent), Delivery.sent_at)))
    last_reminder = func.max(case((is_reminder, func.coalesce(Delivery.sent_at, Delivery.next_attempt_at))))
    acked = exists().where(
        col(Engagement.subject_kind) == Delivery.subject_kind,
        col(Engagement.subject_id) == Delivery.subject_id,
        col(Engagement.person_id) == Delivery.person_id,
        col(Engagement.kind) == EngagementKind.acked,
    )
    query = (
        select(
            Delivery.subject_id,
            Delivery.person_id,
            func.coalesce(func.max(case((is_reminder, Delivery.round))), 0),
            func.max(case((is_notice, Delivery.org_id))),
        )
        .join(Notice, of_notice(Delivery, Notice.id))
        .where(
            Notice.status == NoticeStatus.confirmed,
            col(Notice.wants_receipt),
            col(Notice.confirmed_at) >= now - LOOKBACK,
            col(Delivery.purpose).in_([Purpose.notice, Purpose.reminder]),
            ~acked,
        )
        .group_by(col(Delivery.subject_id), col(Delivery.person_id))
        .having(notice_sent.is_not(None), func.coalesce(last_reminder, notice_sent) <= now - after)
        .order_by(col(Delivery.subject_id), col(Delivery.person_id))
    )
    if urgent_only:
        query = query.where(Notice.urgency == Urgency.urgent)
    remind: list[Unanswered] = []
    exhausted: list[Unanswered] = []
    for notice_id, person_id, rounds, org_id in await session.exec(query):
        item = Unanswered(notice_id, person_id, rounds, org_id)
        (remind if rounds < max_rounds else exhausted).append(item)
    return DueReminders(remind, exhausted)


async def remind_unanswered(
    session: AsyncSession, *, now: datetime, after: timedelta, max_rounds: int, urgent_only: bool = False
) -> ReminderCounts:
    """Writes the reminders and missing lists that are due (not committed: the caller's transaction)."""
    due = await due_reminders(session, now=now, after=after, max_rounds=max_rounds, urgent_only=urgent_only)
    reminders, unreachable = await write_reminders(session, due=due.remind, now=now)
    lists, unreachable_secretaries = await write_missing_lists(
        session, exhausted=due.exhausted, now=now, max_rounds=max_rounds
    )
    return ReminderCounts(reminders, lists, unreachable + unreachable_secretaries)


# Texts


def _snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def reminder_text(notice_id: int, text: str, round_: int) -> str:
    lead = "【提醒】" if round_ <= 1 else "【再次提醒】"
    return f"{lead}第 {notice_id} 号通知您还未确认：{_snippet(text, REMINDER_SNIPPET)}\n请回复“收到 {notice_id}”确认。"


def missing_list_text(notice_id: int, text: str, names: list[str], *, max_rounds: int, all_members: bool) -> str:
    shown = "、".join(names[:NAMES_SHOWN]) + (f"等 {len(names)} 人" if len(names) > NAMES_SHOWN else "")
    who = "党员" if all_members else "人员"
    after = f"{TIMES.get(max_rounds, f'{max_rounds} 次')}提醒后" if max_rounds else ""
    return f"第 {notice_id} 号通知“{_snippet(text, LIST_SNIPPET)}”：以下{who}{after}仍未确认收到：{shown}。请电话联系。"


# Writing


async def write_reminders(session: AsyncSession, *, due: list[Unanswered], now: datetime) -> tuple[int, int]:
    """One reminder per due person, on the channel that reaches them now (the 48 h window may have
    closed or opened since the notice). Returns (rows written, people no channel reaches)."""
    if not due:
        return 0, 0
    texts = await _notice_texts(session, {d.notice_id for d in due})
    people = await load_recipients(session=session, person_ids={d.person_id for d in due}, now=now)
    gone = [d for d in due if d.person_id not in people or first_choice(people[d.person_id]).channel is None]
    first_channels = await _notice_channels(session, gone)
    gone_keys = {(d.notice_id, d.person_id) for d in gone}
    # One reminder text per notice and round: one queue per (notice, round).
    rounds: dict[tuple[int, int], list[Unanswered]] = defaultdict(list)
    for item in due:
        rounds[(item.notice_id, item.rounds + 1)].append(item)
    written = 0
    for (notice_id, round_), items in sorted(rounds.items()):
        body = reminder_text(notice_id, texts[notice_id], round_)
        subject, org_of = Subject.notice(notice_id), {i.person_id: i.org_id for i in items}
        reachable = [people[i.person_id] for i in items if (notice_id, i.person_id) not in gone_keys]
        queued = await queue_messages(session=session, subject=subject, recipients=reachable, not_before=now,
                                      purpose=Purpose.reminder, round=round_, body=body, org_of=org_of)
        written += queued.rows
        # No channel reaches the person any more (unfollowed, left WeCom): the round is recorded as
        # failed all the same, on the channel the notice went out on, so rounds keep their pace and
        # the name reaches the branch secretary.
        lost = [people.get(i.person_id) or Recipient(i.person_id, "") for i in items
                if (notice_id, i.person_id) in gone_keys]

        def on_notice_channel(person: Recipient, notice_id: int = notice_id) -> ChannelChoice:
            channel, recipient = first_channels[(notice_id, person.person_id)]
            return ChannelChoice(channel, recipient, UNREACHABLE_NOW)

        await queue_messages(session=session, subject=subject, recipients=lost, not_before=now,
                             purpose=Purpose.reminder, round=round_, body=body, org_of=org_of,
                             choose=on_notice_channel, record_failed=True)
    return written, len(gone)


async def write_missing_lists(
    session: AsyncSession, *, exhausted: list[Unanswered], now: datetime, max_rounds: int
) -> tuple[int, int]:
    """One list per (notice, branch secretary) of the people who still have not answered, sent once.
    Returns (rows written, secretaries no channel reaches)."""
    if not exhausted:
        return 0, 0
    secretaries = await nearest_secretaries(session, {e.person_id for e in exhausted})
    notice_ids = sorted({e.notice_id for e in exhausted})
    already = set(
        (
            await session.exec(
                select(Delivery.subject_id, Delivery.person_id).where(
                    of_notices(Delivery, notice_ids), Delivery.purpose == Purpose.missing_list
                )
            )
        ).all()
    )
    missing: dict[tuple[int, int], list[int]] = defaultdict(list)
    for item in exhausted:
        for secretary in secretaries.get(item.person_id, ()):
            if (item.notice_id, secretary) not in already:
                missing[(item.notice_id, secretary)].append(item.person_id)
    if not missing:
        return 0, 0
    names = await _names(session, {p for ids in missing.values() for p in ids})
    unreachable_people = await _last_reminder_failed(session, exhausted)
    texts = await _notice_texts(session, set(notice_ids))
    reach = await load_recipients(session=session, person_ids={secretary for _, secretary in missing}, now=now)
    written = unreachable = 0
    for (notice_id, secretary), ids in sorted(missing.items()):
        if secretary not in reach:
            unreachable += 1
            continue
        body = missing_list_text(
            notice_id,
            texts[notice_id],
            [names[p][0] + (UNREACHABLE_MARK if (notice_id, p) in unreachable_people else "") for p in ids],
            max_rounds=max_rounds,
            all_members=all(names[p][1] == PersonKind.member for p in ids),
        )
        queued = await queue_messages(session=session, subject=Subject.notice(notice_id), recipients=[reach[secretary]],
                                      not_before=now, purpose=Purpose.missing_list, body=body)
        written += queued.rows
        unreachable += len(queued.unreachable)
    return written, unreachable


async def nearest_secretaries(session: AsyncSession, person_ids: Iterable[int]) -> dict[int, list[int]]:
    """Each person's branch secretary: the role holder of their primary organisation, else of the
    nearest ancestor that has one (the secretary first, then a deputy, then an admin). A secretary never
    counts as their own, so one who has not answered either goes to the next level up. Two queries."""
    primaries: dict[int, str] = {}
    for ids in chunks(sorted(set(person_ids))):
        primaries.update(
            (
                await session.exec(
                    select(Membership.person_id, Organisation.path)
                    .join(Organisation, col(Organisation.id) == Membership.org_id)
                    .where(col(Membership.person_id).in_(ids), col(Membership.is_primary))
                )
            ).all()
        )
    codes = sorted({code for path in primaries.values() for code in path.split("/") if code})
    holders: dict[str, list[tuple[RoleKind, int]]] = defaultdict(list)
    for part in chunks(codes):
        rows = await session.exec(
            select(Organisation.code, col(Role.kind), Role.person_id)
            .join(Role, col(Role.org_id) == Organisation.id)
            .where(col(Organisation.code).in_(part))
        )
        for code, kind, holder in rows:
            holders[code].append((kind, holder))
    found: dict[int, list[int]] = {}
    for person_id, path in primaries.items():
        for code in reversed([c for c in path.split("/") if c]):
            others = [(ROLE_RANK[kind], holder) for kind, holder in holders.get(code, ()) if holder != person_id]
            if others:
                best = min(rank for rank, _ in others)
                found[person_id] = sorted({holder for rank, holder in others if rank == best})
                break
    return found


async def _notice_channels(
    session: AsyncSession, items: list[Unanswered]
) -> dict[tuple[int, int], tuple[Channel, str]]:
    """The channel and recipient each (notice, person) was sent the notice on (a failed reminder's row
    needs one; its reason says why nothing went out)."""
    if not items:
        return {}
    wanted = {(i.notice_id, i.person_id) for i in items}
    rows = await session.exec(
        select(Delivery.subject_id, Delivery.person_id, Delivery.channel, Delivery.recipient).where(
            of_notices(Delivery, sorted({i.notice_id for i in items})),
            col(Delivery.person_id).in_(sorted({i.person_id for i in items})),
            Delivery.purpose == Purpose.notice,
            Delivery.status == DeliveryStatus.sent,
        )
    )
    return {(n, p): (Channel(c), r) for n, p, c, r in rows if (n, p) in wanted}


async def _last_reminder_failed(session: AsyncSession, items: list[Unanswered]) -> set[tuple[int, int]]:
    """The (notice, person) pairs whose last reminder could not be sent: no channel reaches them."""
    last = {(i.notice_id, i.person_id): i.rounds for i in items}
    failed = await session.exec(
        select(Delivery.subject_id, Delivery.person_id, Delivery.round).where(
            of_notices(Delivery, sorted({i.notice_id for i in items})),
            col(Delivery.person_id).in_(sorted({i.person_id for i in items})),
            Delivery.purpose == Purpose.reminder,
            Delivery.reason == UNREACHABLE_NOW,
        )
    )
    return {(n, p) for n, p, round_ in failed if last.get((n, p)) == round_}


async def _notice_texts(session: AsyncSession, notice_ids: set[int]) -> dict[int, str]:
    rows = await session.exec(
        select(col_not_none(Notice.id), Notice.text).where(col(Notice.id).in_(sorted(notice_ids)))
    )
    return dict(rows.all())


async def _names(session: AsyncSession, person_ids: set[int]) -> dict[int, tuple[str, PersonKind]]:
    found: dict[int, tuple[str, PersonKind]] = {}
    for ids in chunks(sorted(person_ids)):
        rows = await session.exec(
            select(col_not_none(Person.id), Person.name, col(Person.kind)).where(col(Person.id).in_(ids))
        )
        found.update({person_id: (name, kind) for person_id, name, kind in rows})
    return found
