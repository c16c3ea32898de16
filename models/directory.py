"""Who is who, for the callback hot path. Every process keeps the whole directory in memory (compact:
one tuple per identity, one entry per person), loaded at start by a few bulk queries and kept current
from the change log of models/directory_version.py; `load_sender_profile` reads one sender directly,
for the process that just changed them."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as core_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulk import chunks
from models.conversation import Conversation
from models.directory_version import (
    Changes,
    DirectoryChange,
    DirectoryVersion,
    bump_directory_version,
    changes_since,
    note_directory_change,
    prune_directory_changes,
    read_directory_version,
)
from models.identity import Identity, Platform
from models.organisation import Organisation
from models.person import Membership, Person, PersonKind, Role, RoleKind


@dataclass(frozen=True, slots=True)
class RoleGrant:
    kind: RoleKind
    org_id: int
    org_code: str
    org_name: str
    org_path: str


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """What a handler needs to know about the sender, without touching the database."""

    identity_id: int | None
    following: bool
    person_id: int | None = None
    name: str = ""
    kind: PersonKind | None = None
    primary_org_id: int | None = None
    primary_org_name: str = ""
    roles: tuple[RoleGrant, ...] = ()
    conversation: str | None = None  # the kind of step-by-step chat the person is in ("notice")

    @property
    def is_bound(self) -> bool:
        return self.person_id is not None

    @property
    def is_secretary(self) -> bool:
        return bool(self.roles)


@dataclass(frozen=True, slots=True)
class PersonEntry:
    """A person as the callback path sees them (shared by all of their identities)."""

    name: str
    kind: PersonKind
    primary_org_id: int | None
    primary_org_name: str
    roles: tuple[RoleGrant, ...]
    conversation: str | None


# (platform, app_id, external_id) → (identity id, following, person id)
IdentityKey = tuple[Platform, str, str]
IdentityEntry = tuple[int, bool, int | None]


def profile_of(identity: IdentityEntry | None, person: PersonEntry | None) -> SenderProfile:
    if identity is None:
        return SenderProfile(identity_id=None, following=False)
    identity_id, following, person_id = identity
    if person_id is None or person is None:
        return SenderProfile(identity_id=identity_id, following=following)
    return SenderProfile(
        identity_id=identity_id, following=following, person_id=person_id, name=person.name, kind=person.kind,
        primary_org_id=person.primary_org_id, primary_org_name=person.primary_org_name, roles=person.roles,
        conversation=person.conversation,
    )


async def _rows(session: AsyncSession, query: Any) -> Sequence[Any]:
    return (await session.exec(query)).all()


# A full load reads ids in windows: the rows of one window are all that is materialised at a time, so
# the peak memory of loading 200,000 people stays near what they take once loaded.
WINDOW = 20_000
Part = Sequence[int] | tuple[int, int]  # some ids, or the window [low, high) of ids


async def _parts(session: AsyncSession, ids: Iterable[int] | None, table_id: Any) -> list[Part]:
    if ids is not None:
        return list(chunks(sorted(set(ids))))
    highest = (await _rows(session, core_select(func.max(table_id))))[0][0] or 0
    return [(low, low + WINDOW) for low in range(0, highest + 1, WINDOW)]


def _within(column: Any, part: Part) -> Any:
    if isinstance(part, tuple):
        return and_(column >= part[0], column < part[1])
    return column.in_(part)


async def load_identities(
    *, session: AsyncSession, ids: Iterable[int] | None = None, key: IdentityKey | None = None
) -> dict[IdentityKey, IdentityEntry]:
    """Every identity, those ids, or the one with `key`."""
    columns = (col(Identity.platform), col(Identity.app_id), col(Identity.external_id), col(Identity.id),
               col(Identity.following), col(Identity.person_id))
    found: dict[IdentityKey, IdentityEntry] = {}
    if key is not None:
        parts: list[Part | None] = [None]
    else:
        parts = list(await _parts(session, ids, col(Identity.id)))
    shared: dict[Any, Any] = {}  # one object for each app id and person id seen
    for part in parts:
        query = core_select(*columns)
        if part is not None:
            query = query.where(_within(col(Identity.id), part))
        if key is not None:
            query = query.where(col(Identity.platform) == key[0], col(Identity.app_id) == key[1],
                                col(Identity.external_id) == key[2])
        for platform, app_id, external_id, identity_id, following, person_id in await _rows(session, query):
            app_id = shared.setdefault(app_id, app_id)
            found[(Platform(platform), app_id, external_id)] = (identity_id, bool(following), person_id)
    return found


async def load_people(*, session: AsyncSession, ids: Iterable[int] | None = None,
                      with_identity: bool = True) -> dict[int, PersonEntry]:
    """Every person with an identity (ids None) or those people, as the callback path sees them: four
    grouped queries (people, primary organisations, roles, conversations) per window or 5,000 ids.
    `with_identity=False`: those people even before their first contact (a roster match)."""
    found: dict[int, PersonEntry] = {}
    # Organisations repeat across thousands of people: one name and one id object each.
    names: dict[str, str] = {}
    org_ids: dict[int, int] = {}
    for part in await _parts(session, ids, col(Person.id)):
        query = core_select(col(Person.id), col(Person.name), col(Person.kind)).where(_within(col(Person.id), part))
        if with_identity:
            query = query.where(col(Person.id).in_(core_select(col(Identity.person_id))))
        people = await _rows(session, query)
        if not people:
            continue
        primary: dict[int, tuple[int, str]] = {}
        for person_id, org_id, org_name in await _rows(session, core_select(
                col(Membership.person_id), col(Organisation.id), col(Organisation.name))
                .join(Organisation, col(Organisation.id) == Membership.org_id)
                .where(col(Membership.is_primary), _within(col(Membership.person_id), part))):
            primary[person_id] = (org_ids.setdefault(org_id, org_id), names.setdefault(org_name, org_name))
        roles: dict[int, list[RoleGrant]] = {}
        for person_id, kind, org_id, code, name, path in await _rows(session, core_select(
                col(Role.person_id), col(Role.kind), col(Organisation.id), col(Organisation.code),
                col(Organisation.name), col(Organisation.path))
                .join(Organisation, col(Organisation.id) == Role.org_id).where(_within(col(Role.person_id), part))
                .order_by(col(Organisation.path))):
            roles.setdefault(person_id, []).append(RoleGrant(RoleKind(kind), org_id, code, name, path))
        talking = dict(await _rows(session, core_select(col(Conversation.person_id), col(Conversation.kind)).where(
            _within(col(Conversation.person_id), part))))
        for person_id, name, kind in people:
            org_id, org_name = primary.get(person_id, (None, ""))
            found[person_id] = PersonEntry(name, PersonKind(kind), org_id, org_name,
                                           tuple(roles.get(person_id, ())), talking.get(person_id))
    return found


async def roster_work_users(*, session: AsyncSession, userids: Sequence[str]) -> dict[str, tuple[int, PersonEntry]]:
    """The roster's people with these WeCom userids, as the callback path sees them (for members
    whose first contact binds them: they have no identity yet, so the directory does not hold them)."""
    found: dict[str, int] = {}
    for part in chunks(list(userids)):
        found.update({u: p for u, p in await _rows(session, core_select(col(Person.work_userid), col(Person.id))
                                                   .where(col(Person.work_userid).in_(part)))})
    people = await load_people(session=session, ids=found.values(), with_identity=False) if found else {}
    return {userid: (person_id, people[person_id]) for userid, person_id in found.items() if person_id in people}


async def load_sender_profile(
    *, session: AsyncSession, platform: Platform, app_id: str, external_id: str
) -> SenderProfile:
    """One sender as the database has them now, through the same loaders as the whole directory."""
    key = (platform, app_id, external_id)
    identity = (await load_identities(session=session, key=key)).get(key)
    person_id = identity[2] if identity else None
    people = await load_people(session=session, ids=[person_id]) if person_id is not None else {}
    return profile_of(identity, people.get(person_id) if person_id is not None else None)


__all__ = [
    "Changes",
    "DirectoryChange",
    "DirectoryVersion",
    "IdentityEntry",
    "IdentityKey",
    "PersonEntry",
    "RoleGrant",
    "SenderProfile",
    "bump_directory_version",
    "changes_since",
    "load_identities",
    "load_people",
    "load_sender_profile",
    "note_directory_change",
    "profile_of",
    "prune_directory_changes",
    "read_directory_version",
    "roster_work_users",
]
