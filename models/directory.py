"""Who is who, for the callback hot path. Every process keeps the whole directory in memory (compact:
one tuple per identity, one entry per person), loaded at start by a few bulk queries and kept current
from the change log of models/directory_version.py; `load_sender_profile` reads one sender directly,
for the process that just changed them."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, exists, func
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
    # The roster's WeCom account: a member's first message from it binds them (handlers/binding.py).
    work_userid: str | None = None


# (platform, app_id, external_id) → (identity id, following, person id)
IdentityKey = tuple[Platform, str, str]
IdentityEntry = tuple[int, bool, int | None]


def profile_of(identity: IdentityEntry | None, person: PersonEntry | None) -> SenderProfile:
    if identity is None:
        return SenderProfile(identity_id=None, following=False)
    identity_id, following, person_id = identity
    if person_id is None or person is None:
        return SenderProfile(identity_id=identity_id, following=following)
    return bound_profile(identity_id, following, person_id, person)


def bound_profile(identity_id: int | None, following: bool, person_id: int, person: PersonEntry) -> SenderProfile:
    """A sender bound to `person` (identity_id None: their identity is being written)."""
    return SenderProfile(
        identity_id=identity_id, following=following, person_id=person_id, name=person.name, kind=person.kind,
        primary_org_id=person.primary_org_id, primary_org_name=person.primary_org_name, roles=person.roles,
        conversation=person.conversation,
    )


async def _rows(session: AsyncSession, query: Any, params: dict[str, Any] | None = None) -> Sequence[Any]:
    # Core statements on the session's connection: the ORM's execution layer cost a quarter of each
    # look-up's time, and these only read columns.
    conn = await session.connection()
    return (await conn.execute(query, params)).all()


# A full load reads ids in windows: the rows of one window are all that is materialised at a time, so
# the peak memory of loading 200,000 people stays near what they take once loaded.
WINDOW = 20_000
Part = Sequence[int] | tuple[int, int]  # some ids, or the window [low, high) of ids
# The statements are built once: every directory poll and roster look-up runs them, and building a
# statement (and its cache key) cost more than SQLite spent answering it.
_IDS: Any = bindparam("ids", expanding=True)
_LOW: Any = bindparam("low")
_HIGH: Any = bindparam("high")


async def _parts(session: AsyncSession, ids: Iterable[int] | None, table_id: Any) -> list[Part]:
    if ids is not None:
        return list(chunks(sorted(set(ids))))
    highest = (await _rows(session, core_select(func.max(table_id))))[0][0] or 0
    return [(low, low + WINDOW) for low in range(0, highest + 1, WINDOW)]


def _within(column: Any, by_ids: bool) -> Any:
    return column.in_(_IDS) if by_ids else and_(column >= _LOW, column < _HIGH)


def _params(part: Part) -> dict[str, Any]:
    return {"low": part[0], "high": part[1]} if isinstance(part, tuple) else {"ids": list(part)}


@cache
def _identity_query(by: str) -> Any:
    """by: "ids", "window" or "key"."""
    query = core_select(col(Identity.platform), col(Identity.app_id), col(Identity.external_id), col(Identity.id),
                        col(Identity.following), col(Identity.person_id))
    if by == "key":
        return query.where(col(Identity.platform) == bindparam("platform"), col(Identity.app_id) == bindparam("app"),
                           col(Identity.external_id) == bindparam("external"))
    return query.where(_within(col(Identity.id), by == "ids"))


async def load_identities(
    *, session: AsyncSession, ids: Iterable[int] | None = None, key: IdentityKey | None = None
) -> dict[IdentityKey, IdentityEntry]:
    """Every identity, those ids, or the one with `key`."""
    found: dict[IdentityKey, IdentityEntry] = {}
    if key is not None:
        runs = [(_identity_query("key"), {"platform": key[0], "app": key[1], "external": key[2]})]
    else:
        runs = [(_identity_query("window" if isinstance(part, tuple) else "ids"), _params(part))
                for part in await _parts(session, ids, col(Identity.id))]
    shared: dict[Any, Any] = {}  # one object for each app id and person id seen
    for query, params in runs:
        for platform, app_id, external_id, identity_id, following, person_id in await _rows(session, query, params):
            app_id = shared.setdefault(app_id, app_id)
            found[(Platform(platform), app_id, external_id)] = (identity_id, bool(following), person_id)
    return found


@cache
def _people_queries(by_ids: bool) -> tuple[Any, Any, Any, Any]:
    """People who can write to us (an identity, or a WeCom account on the roster that binds them on
    their first message), their primary organisations, their roles, their open conversations."""
    people = core_select(col(Person.id), col(Person.name), col(Person.kind), col(Person.work_userid)).where(
        _within(col(Person.id), by_ids))
    if by_ids:
        # Correlated, so that it probes the index per person: SQLite runs `IN (SELECT person_id
        # FROM identity)` by listing every identity first (14 ms at 40,000, for each directory poll).
        reachable: Any = exists().where(col(Identity.person_id) == col(Person.id))
    else:  # a window of a full load: that list, once, serves 20,000 people
        reachable = col(Person.id).in_(core_select(col(Identity.person_id)))
    people = people.where(reachable | col(Person.work_userid).is_not(None))
    primary = (core_select(col(Membership.person_id), col(Organisation.id), col(Organisation.name))
               .join(Organisation, col(Organisation.id) == Membership.org_id)
               .where(col(Membership.is_primary), _within(col(Membership.person_id), by_ids)))
    roles = (core_select(col(Role.person_id), col(Role.kind), col(Organisation.id), col(Organisation.code),
                         col(Organisation.name), col(Organisation.path))
             .join(Organisation, col(Organisation.id) == Role.org_id).where(_within(col(Role.person_id), by_ids))
             .order_by(col(Organisation.path)))
    talking = core_select(col(Conversation.person_id), col(Conversation.kind)).where(
        _within(col(Conversation.person_id), by_ids))
    return people, primary, roles, talking


async def load_people(*, session: AsyncSession, ids: Iterable[int] | None = None) -> dict[int, PersonEntry]:
    """Every person who can write to us (ids None), or those of these ids, as the callback path sees
    them: four grouped queries (people, primary organisations, roles, conversations) per window or
    5,000 ids."""
    found: dict[int, PersonEntry] = {}
    # Organisations repeat across thousands of people: one name and one id object each.
    names: dict[str, str] = {}
    org_ids: dict[int, int] = {}
    for part in await _parts(session, ids, col(Person.id)):
        people_query, primary_query, roles_query, talking_query = _people_queries(not isinstance(part, tuple))
        params = _params(part)
        people = await _rows(session, people_query, params)
        if not people:
            continue
        primary: dict[int, tuple[int, str]] = {}
        for person_id, org_id, org_name in await _rows(session, primary_query, params):
            primary[person_id] = (org_ids.setdefault(org_id, org_id), names.setdefault(org_name, org_name))
        roles: dict[int, list[RoleGrant]] = {}
        for person_id, kind, org_id, code, name, path in await _rows(session, roles_query, params):
            roles.setdefault(person_id, []).append(RoleGrant(RoleKind(kind), org_id, code, name, path))
        talking = dict(await _rows(session, talking_query, params))
        for person_id, name, kind, work_userid in people:
            org_id, org_name = primary.get(person_id, (None, ""))
            found[person_id] = PersonEntry(name, PersonKind(kind), org_id, org_name,
                                           tuple(roles.get(person_id, ())), talking.get(person_id), work_userid)
    return found


async def load_sender(
    *, session: AsyncSession, platform: Platform, app_id: str, external_id: str
) -> tuple[IdentityEntry | None, PersonEntry | None]:
    """One sender as the database has them now, through the same loaders as the whole directory."""
    key = (platform, app_id, external_id)
    identity = (await load_identities(session=session, key=key)).get(key)
    person_id = identity[2] if identity else None
    people = await load_people(session=session, ids=[person_id]) if person_id is not None else {}
    return identity, people.get(person_id) if person_id is not None else None


async def load_sender_profile(
    *, session: AsyncSession, platform: Platform, app_id: str, external_id: str
) -> SenderProfile:
    return profile_of(*await load_sender(session=session, platform=platform, app_id=app_id,
                                         external_id=external_id))


__all__ = [
    "Changes",
    "DirectoryChange",
    "DirectoryVersion",
    "IdentityEntry",
    "IdentityKey",
    "PersonEntry",
    "RoleGrant",
    "SenderProfile",
    "bound_profile",
    "bump_directory_version",
    "changes_since",
    "load_identities",
    "load_people",
    "load_sender",
    "load_sender_profile",
    "note_directory_change",
    "profile_of",
    "prune_directory_changes",
    "read_directory_version",
]
