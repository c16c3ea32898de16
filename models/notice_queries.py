"""Queries behind composing a notice in the chat: which organisations a secretary may choose, who
the chosen audience reaches, and confirming a draft into the outbox."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Audience, Recipient, resolve
from models.channel_plan import first_choice
from models.clock import utcnow
from models.delivery import write_outbox
from models.notice import Notice, NoticeStatus
from models.organisation import LEVEL_NAMES, Organisation, subtree
from models.person import PersonKind
from models.tasks import (
    SECRETARIES_WHO,
    is_task_to_secretaries,
    secretaries_of,
    target_recipients,
    write_task_outbox,
)

MAX_ORG_CHOICES = 30
# The "who" options offered in the chat, by number.
WHO_NAMES = {1: "党员", 2: "居民", 3: "驻区单位代表", 4: "书记", 5: "流动党员"}
_KIND_OF = {1: PersonKind.member, 2: PersonKind.resident, 3: PersonKind.unit_rep}


@dataclass(frozen=True, slots=True)
class OrgChoice:
    org_id: int
    label: str  # indented below its root, with the level name
    path: str


async def org_choices(*, session: AsyncSession, root_ids: list[int]) -> list[OrgChoice]:
    """Each root first, then its subtree; a root inside another root's subtree is not repeated."""
    roots = list(await session.exec(select(Organisation).where(col(Organisation.id).in_(root_ids))))
    roots.sort(key=lambda o: o.path)
    choices: list[OrgChoice] = []
    seen: set[int] = set()
    for root in roots:
        depth0 = root.path.count("/")
        for org in await subtree(session=session, root=root):
            if org.id in seen or len(choices) >= MAX_ORG_CHOICES:
                continue
            seen.add(org.id)  # type: ignore[arg-type]
            indent = "　" * (org.path.count("/") - depth0)
            label = f"{indent}{org.name}（{LEVEL_NAMES[org.level]}）"
            choices.append(OrgChoice(org.id, label, org.path))  # type: ignore[arg-type]
    return choices


def audiences_for(org_ids: list[int], who: list[int]) -> list[Audience]:
    orgs = tuple(org_ids)
    kinds = frozenset(_KIND_OF[w] for w in who if w in _KIND_OF)
    audiences = [Audience(orgs, kinds)] if kinds else []
    if 4 in who:
        audiences.append(Audience(orgs, frozenset(PersonKind), secretaries_only=True))
    if 5 in who and 1 not in who:
        audiences.append(Audience(orgs, frozenset({PersonKind.member}), mobile_only=True))
    return audiences


async def recipients_for(
    *, session: AsyncSession, org_ids: list[int], who: list[int], task: bool = False
) -> list[Recipient]:
    """Everyone the choice reaches, one entry per person however many options include them. A task
    (`task`) for 书记 reaches the chosen organisations' own secretaries: the levels below get it when
    it is passed down (下发), not twice."""
    found: dict[int, Recipient] = {}
    if task and SECRETARIES_WHO in who:
        for person in (await target_recipients(session=session, org_ids=org_ids))[0]:
            found.setdefault(person.person_id, person)
        who = [w for w in who if w != SECRETARIES_WHO]
    for audience in audiences_for(org_ids, who):
        for person in await resolve(session=session, audience=audience):
            found.setdefault(person.person_id, person)
    return sorted(found.values(), key=lambda r: r.person_id)


@dataclass(frozen=True, slots=True)
class Preview:
    total: int
    by_channel: Counter[str]  # the first channel's reason -> people
    unreachable: list[str]  # names


def preview(people: list[Recipient]) -> Preview:
    by_channel: Counter[str] = Counter()
    unreachable: list[str] = []
    for person in people:
        choice = first_choice(person)
        if choice.channel is None:
            unreachable.append(person.name)
        else:
            by_channel[choice.reason] += 1
    return Preview(len(people), by_channel, unreachable)


async def confirm_notice(
    *, session: AsyncSession, notice: Notice, people: list[Recipient], not_before: datetime
) -> int:
    """The draft becomes confirmed and one outbox row is written per reachable person."""
    plan = []
    for person in people:
        choice = first_choice(person)
        if choice.channel is not None:
            plan.append((person.person_id, choice.channel, choice.recipient, choice.reason))
    notice.status = NoticeStatus.confirmed
    notice.confirmed_at = utcnow()
    session.add(notice)
    if is_task_to_secretaries(notice):  # each target organisation's secretaries answer for it
        org_ids, who = notice.audience.get("org_ids", []), notice.audience.get("who", [])
        # Callers that resolved without `task` included the secretaries of the whole subtrees.
        people = await recipients_for(session=session, org_ids=org_ids, who=who, task=True)
        org_of = await secretaries_of(session=session, org_ids=org_ids)
        return write_task_outbox(session=session, notice_id=notice.id, people=people, org_of=org_of,  # type: ignore[arg-type]
                                 not_before=not_before)
    return write_outbox(session=session, notice_id=notice.id, plan=plan, not_before=not_before)  # type: ignore[arg-type]
