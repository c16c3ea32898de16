"""The few reads and writes the demo needs beyond the seed: facts about the people it offers as personas,
binding some of them on the Official Account in advance, and their current binding state."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import record_audit
from models.binding import bind_by_invite_code, ensure_identity
from models.directory import note_directory_change
from models.identity import Identity, Platform
from models.organisation import Organisation, OrgLevel, Unit
from models.person import Membership, Person, PersonKind, Role
from models.typed import col_not_none, id_of


@dataclass(frozen=True, slots=True)
class PersonFacts:
    id: int
    name: str
    kind: PersonKind
    phone: str | None
    invite_code: str | None
    work_userid: str | None
    is_mobile: bool
    is_in_service: bool
    is_retired: bool
    org_name: str  # primary organisation
    unit_name: str  # 驻区单位, for a representative
    has_role: bool  # 书记, 副书记 or 管理员 somewhere


async def load_people(*, session: AsyncSession, where: Any, limit: int | None = None) -> list[PersonFacts]:
    """People matching `where` (a condition on Person), in roster order."""
    primary = aliased(Membership)
    org = aliased(Organisation)
    stmt = (
        select(Person, org.name, Unit.name)
        .outerjoin(primary, (col(primary.person_id) == Person.id) & col(primary.is_primary))
        .outerjoin(org, col(org.id) == primary.org_id)
        .outerjoin(Unit, col(Unit.id) == Person.unit_id)
        .where(where)
        .order_by(col(Person.id))
        .limit(limit)
    )
    rows = list(await session.exec(stmt))
    ids = [p.id for p, _, _ in rows]
    with_roles = set(await session.exec(select(Role.person_id).where(col(Role.person_id).in_(ids)).distinct()))
    return [
        PersonFacts(
            id_of(p), p.name, p.kind, p.phone, p.invite_code, p.work_userid, p.is_mobile, p.is_in_service,
            p.is_retired, org_name or "", unit_name or "", p.id in with_roles,
        )
        for p, org_name, unit_name in rows
    ]


async def people_by_phone(*, session: AsyncSession, phones: Iterable[str]) -> dict[str, PersonFacts]:
    facts = await load_people(session=session, where=col(Person.phone).in_(list(phones)))
    return {f.phone: f for f in facts if f.phone}


async def unbound_members(*, session: AsyncSession, exclude: set[int], limit: int) -> list[PersonFacts]:
    """Ordinary members who still hold an invite code: someone for the visitor to bind with `绑定`."""
    bound = select(Identity.person_id).where(col(Identity.person_id).is_not(None))
    found = await load_people(
        session=session,
        where=(col(Person.kind) == PersonKind.member)
        & col(Person.invite_code).is_not(None)
        & col(Person.work_userid).is_(None)
        & col(Person.id).not_in(bound),
        limit=limit + len(exclude),
    )
    return [f for f in found if f.id not in exclude and not f.has_role][:limit]


async def unit_representatives(*, session: AsyncSession) -> list[PersonFacts]:
    return await load_people(session=session, where=Person.kind == PersonKind.unit_rep)


async def first_community(*, session: AsyncSession) -> Organisation | None:
    """The community whose QR code the demo's newcomer scans."""
    stmt = select(Organisation).where(Organisation.level == OrgLevel.community).order_by(Organisation.code)
    return (await session.exec(stmt)).first()


async def bind_in_advance(*, session: AsyncSession, app_id: str, openid: str, person: PersonFacts) -> None:
    """The person follows the Official Account and is bound already (idempotent). A member uses up their
    invite code exactly as `绑定` would; residents and representatives have none and are linked directly."""
    identity = await ensure_identity(session=session, platform=Platform.mp, app_id=app_id, external_id=openid)
    if identity.person_id is not None:
        return
    if person.invite_code:
        result = await bind_by_invite_code(session=session, identity=identity, code=person.invite_code)
        if result.ok:
            return
    identity.person_id = person.id
    session.add(identity)
    record_audit(session=session, action="identity.bind", actor="demo", actor_person_id=person.id, via="demo")
    await note_directory_change(session=session, identity_ids=[id_of(identity)], person_ids=[id_of(person)])


@dataclass(frozen=True, slots=True)
class BindingState:
    bound: set[tuple[str, str]]  # (platform, external id) linked to a person
    invite_codes: dict[int, str]  # person id → invite code still unused


async def binding_state(
    *, session: AsyncSession, keys: Iterable[tuple[Platform, str]], person_ids: Iterable[int]
) -> BindingState:
    """`keys` are (platform, openid or userid) of the personas; the demo has one account of each."""
    wanted = {(platform.value, external) for platform, external in keys}
    rows = await session.exec(
        select(Identity.platform, Identity.external_id).where(
            col(Identity.external_id).in_([external for _, external in wanted]), col(Identity.person_id).is_not(None)
        )
    )
    bound = {(Platform(p).value, e) for p, e in rows} & wanted
    codes = await session.exec(
        select(col_not_none(Person.id), Person.invite_code).where(
            col(Person.id).in_(list(person_ids)), col(Person.invite_code).is_not(None)
        )
    )
    return BindingState(bound, {pid: code for pid, code in codes if code})
