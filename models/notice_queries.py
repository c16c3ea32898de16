"""Queries behind composing a notice: which organisations a secretary may choose, and who the chosen
audience reaches (one entry per person), with the preview of their channels."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Audience, Recipient, resolve
from models.channel_plan import first_choice
from models.notice import Who
from models.organisation import LEVEL_NAMES, Organisation, subtree
from models.person import PersonKind
from models.tasks import target_recipients

MAX_ORG_CHOICES = 30
_KIND_OF = {Who.members: PersonKind.member, Who.residents: PersonKind.resident, Who.unit_reps: PersonKind.unit_rep}


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
            if org.id is None or org.id in seen or len(choices) >= MAX_ORG_CHOICES:
                continue
            seen.add(org.id)
            indent = "　" * (org.path.count("/") - depth0)
            label = f"{indent}{org.name}（{LEVEL_NAMES[org.level]}）"
            choices.append(OrgChoice(org.id, label, org.path))
    return choices


def audiences_for(org_ids: list[int], who: Iterable[Who]) -> list[Audience]:
    orgs = tuple(org_ids)
    chosen = set(who)
    kinds = frozenset(_KIND_OF[w] for w in chosen if w in _KIND_OF)
    audiences = [Audience(orgs, kinds)] if kinds else []
    if Who.secretaries in chosen:
        audiences.append(Audience(orgs, frozenset(PersonKind), secretaries_only=True))
    if Who.mobile_members in chosen and Who.members not in chosen:
        audiences.append(Audience(orgs, frozenset({PersonKind.member}), mobile_only=True))
    return audiences


async def recipients_for(
    *, session: AsyncSession, org_ids: list[int], who: Iterable[Who], task: bool = False
) -> list[Recipient]:
    """Everyone the choice reaches, one entry per person however many options include them. A task
    (`task`) for 书记 reaches the chosen organisations' own secretaries: the levels below get it when
    it is passed down (下发), not twice."""
    found: dict[int, Recipient] = {}
    chosen = list(who)
    if task and Who.secretaries in chosen:
        for person in (await target_recipients(session=session, org_ids=org_ids))[0]:
            found.setdefault(person.person_id, person)
        chosen = [w for w in chosen if w != Who.secretaries]
    for audience in audiences_for(org_ids, chosen):
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
