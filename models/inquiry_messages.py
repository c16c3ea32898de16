"""The messages about a 留言 beyond its first: the answer to the sender (written from the chat's
`回复 N` or the inbox page) and the escalation once nobody answered for 2 working days, to the
secretaries of the nearest organisation above that has any. Both are outbox rows about the inquiry
(the escalation's purpose is `overdue`, so it is queued once whatever ticks run it)."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import load_recipients
from models.audit import record_audit
from models.delivery import Purpose
from models.inquiry import Inquiry, record_answer, record_escalation, unanswered_since
from models.organisation import Organisation
from models.outbox import queue_messages
from models.person import PERSON_KIND_NAMES, Person
from models.quiet_hours import not_before
from models.role_holders import nearest_holders
from models.subject import Subject, SubjectKind
from models.typed import id_of
from models.workdays import after_workdays

ANSWER_WITHIN_WORKDAYS = 2
# Two working days never span less than two calendar days, and a 留言 older than a month whose tick
# never came (a service down that long) is left to the list rather than escalated late.
EARLIEST = timedelta(days=ANSWER_WITHIN_WORKDAYS)
LOOKBACK = timedelta(days=30)
PREVIEW = 60
ACTOR = "schedule:inquiries"


def escalation_moment(inquiry: Inquiry, tz: tzinfo) -> datetime:
    return after_workdays(inquiry.received_at.astimezone(tz), ANSWER_WITHIN_WORKDAYS)


@dataclass(slots=True)
class Answered:
    rows: int  # outbox rows written: 0 when the sender cannot be reached on WeChat now
    org_name: str


async def send_answer(
    *, session: AsyncSession, inquiry: Inquiry, text: str, by: int, actor: str, now: datetime
) -> Answered:
    """Records the answer and queues it to the sender at once (an answer is never held by quiet hours:
    the sender is waiting for it). Not committed."""
    round_ = record_answer(inquiry, text=text, by=by, now=now)
    session.add(inquiry)
    org = await session.get(Organisation, inquiry.org_id)
    org_name = org.name if org else "社区"
    people = await load_recipients(session=session, person_ids={inquiry.person_id}, now=now)
    body = f"【{org_name}答复 · 留言第{inquiry.id}号】\n{text.strip()}\n如需继续反映，请回复“留言 内容”。"
    queued = await queue_messages(session=session, subject=Subject(SubjectKind.inquiry, id_of(inquiry)),
                                  recipients=people.values(), not_before=now.astimezone(UTC), round=round_,
                                  body=body)
    record_audit(session=session, action="inquiry.answer", actor=actor, actor_person_id=by,
                 org_id=inquiry.org_id, inquiry_id=inquiry.id, sent=queued.rows)
    return Answered(queued.rows, org_name)


def escalation_body(inquiry: Inquiry, sender: Person, org: Organisation, tz: tzinfo) -> str:
    when = inquiry.received_at.astimezone(tz)
    text = inquiry.text if len(inquiry.text) <= PREVIEW else inquiry.text[:PREVIEW] + "…"
    who = PERSON_KIND_NAMES.get(sender.kind, "")
    return (f"【留言超时】第 {inquiry.id} 号留言 {ANSWER_WITHIN_WORKDAYS} 个工作日未答复：\n"
            f"{who} {sender.name}（{org.name}，{when.month}月{when.day}日 {when:%H:%M}）：{text}\n"
            f"请督促{org.name}答复，或直接回复“回复 {inquiry.id} 答复内容”。")


async def escalate_unanswered(
    *, session: AsyncSession, zone: tzinfo, quiet: tuple[time, time] | None, now: datetime
) -> int:
    """Escalates every 留言 whose 2 working days ran out unanswered; the outbox rows written (not
    committed). Each is marked escalated, with or without anyone above to tell."""
    now = now.astimezone(UTC)
    due = [i for i in await unanswered_since(session=session, received_from=now - LOOKBACK,
                                             received_by=now - EARLIEST)
           if escalation_moment(i, zone) <= now]
    if not due:
        return 0
    orgs = {o.id: o for o in await session.exec(
        select(Organisation).where(col(Organisation.id).in_({i.org_id for i in due})))}
    senders = {p.id: p for p in await session.exec(
        select(Person).where(col(Person.id).in_({i.person_id for i in due})))}
    above = await nearest_holders(session, {o.path for o in orgs.values()}, own=False)
    people = await load_recipients(session=session, person_ids={p for _o, ps in above.values() for p in ps},
                                   now=now)
    start = not_before(now.astimezone(zone), quiet, urgent=False).astimezone(UTC)
    written = 0
    for inquiry in due:
        org = orgs[inquiry.org_id]
        to_org, targets = above[org.path]
        record_escalation(inquiry, to_org_id=to_org, now=now)
        session.add(inquiry)
        queued = await queue_messages(
            session=session, subject=Subject(SubjectKind.inquiry, id_of(inquiry)),
            recipients=[people[p] for p in targets if p in people], not_before=start, purpose=Purpose.overdue,
            body=escalation_body(inquiry, senders[inquiry.person_id], org, zone),
        )
        record_audit(session=session, action="inquiry.escalate", actor=ACTOR, org_id=inquiry.org_id,
                     inquiry_id=inquiry.id, escalated_to=to_org, recipients=queued.rows)
        written += queued.rows
    return written
