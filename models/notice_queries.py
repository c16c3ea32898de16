"""Queries behind composing a notice: which organisations a secretary may choose, and who the chosen
audience reaches (one entry per person), with the preview of their channels."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Audience, Recipient, resolve
from models.channel_plan import first_choice
from models.notice import Who
from models.organisation import LEVEL_NAMES, Organisation, in_subtree_of
from models.person import Membership, PersonKind
from models.tasks import target_recipients
from models.typed import id_of

MAX_ORG_CHOICES = 30
_KIND_OF = {Who.members: PersonKind.member, Who.residents: PersonKind.resident, Who.unit_reps: PersonKind.unit_rep}


@dataclass(frozen=True, slots=True)
class OrgChoice:
    org_id: int
    label: str  # "阳光社区（社区，含下级，45 人）": the level, whether it includes its sub-organisations, the people
    path: str
    has_children: bool = False


async def org_choices(*, session: AsyncSession, root_ids: list[int], under: int | None = None) -> list[OrgChoice]:
    """What the 发通知 organisation step lists: each of the secretary's organisations and the ones
    directly below it (`under`: that organisation, within their scope, and the ones directly below
    it), so a district of hundreds of organisations shows one short level at a time. A root inside
    another root's subtree is not repeated."""
    roots = list(await session.exec(select(Organisation).where(col(Organisation.id).in_(root_ids))))
    roots.sort(key=lambda o: o.path)
    if under is not None:
        top = await session.get(Organisation, under)
        if top is None or not any(top.path.startswith(r.path) for r in roots):
            return []
        roots = [top]
    listed: list[Organisation] = []
    seen: set[int] = set()
    for root in roots:
        if any(root.path.startswith(r.path) and r.path != root.path for r in roots):
            continue
        below = list(await session.exec(
            select(Organisation).where(Organisation.parent_id == root.id).order_by(Organisation.path)
        ))
        for org in [root, *below]:
            if org.id is not None and org.id not in seen and len(listed) < MAX_ORG_CHOICES:
                seen.add(org.id)
                listed.append(org)
    people = await _people_below(session, listed)
    parents = set((await session.exec(
        select(Organisation.parent_id).where(col(Organisation.parent_id).in_(list(seen)))
    )).all())
    choices = []
    for org in listed:
        assert org.id is not None
        facts = [LEVEL_NAMES[org.level], *(["含下级"] if org.id in parents else []), f"{people[org.id]} 人"]
        choices.append(OrgChoice(org.id, f"{org.name}（{'，'.join(facts)}）", org.path, org.id in parents))
    return choices


async def _people_below(session: AsyncSession, orgs: list[Organisation]) -> dict[int, int]:
    """People with a membership in each organisation or below it, each counted once."""
    if not orgs:
        return {}
    tops = sorted({o.path for o in orgs}, key=len)
    roots = [p for p in tops if not any(p.startswith(q) and p != q for q in tops)]
    found = await session.exec(
        select(Organisation.path, Membership.person_id)
        .join(Membership, col(Membership.org_id) == Organisation.id)
        .where(or_(*(in_subtree_of(path) for path in roots)))
    )
    pairs = list(found)
    return {id_of(o): len({person for path, person in pairs if path.startswith(o.path)}) for o in orgs}


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
