"""Roster import and export: the whole directory read in a few queries, and bulk writes ordered so the
unique indexes hold at every statement (a person's old primary membership goes before the new one, a
WeCom userid is released before another person takes it)."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, insert, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.identity import Identity
from models.organisation import Organisation, OrgLevel, Unit
from models.person import Membership, Person, PersonKind, Role, RoleKind
from models.typed import col_not_none

CHUNK = 1000  # rows per executemany / IN (...): well under SQLite's and asyncpg's parameter limits
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OrgRecord:
    id: int
    code: str
    name: str
    level: OrgLevel
    parent_id: int | None
    path: str


@dataclass(frozen=True, slots=True)
class UnitRecord:
    id: int
    code: str
    name: str
    org_id: int


@dataclass(slots=True)
class PersonRecord:
    id: int
    name: str
    kind: PersonKind
    phone: str | None
    is_mobile: bool
    is_in_service: bool
    is_retired: bool
    report_org_id: int | None
    unit_id: int | None
    invite_code: str | None
    work_userid: str | None
    memberships: dict[int, tuple[int, bool]] = field(default_factory=dict)  # org id → (row id, is_primary)
    roles: dict[tuple[RoleKind, int], int] = field(default_factory=dict)  # (kind, org id) → row id
    is_bound: bool = False  # some WeChat identity is linked already

    @property
    def primary_org_id(self) -> int | None:
        return next((org_id for org_id, (_, primary) in self.memberships.items() if primary), None)


@dataclass(slots=True)
class RosterSnapshot:
    orgs: dict[str, OrgRecord]  # by code
    units: dict[str, UnitRecord]  # by code
    people: dict[str, PersonRecord]  # by phone: the roster's natural key
    without_phone: list[PersonRecord]  # residents who joined by QR code: not in any roster file
    work_userids: dict[str, PersonRecord]
    invite_codes: set[str]

    def org_codes_by_id(self) -> dict[int, str]:
        return {o.id: o.code for o in self.orgs.values()}

    def unit_codes_by_id(self) -> dict[int, str]:
        return {u.id: u.code for u in self.units.values()}


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def lock_roster(*, session: AsyncSession) -> None:
    """Serialises imports on PostgreSQL until the transaction ends; SQLite has a single writer anyway."""
    if (await session.connection()).dialect.name == "postgresql":
        # SQLModel's exec() is typed for select(), update(), insert() and delete(), not for text().
        await session.exec(text("SELECT pg_advisory_xact_lock(hashtext('grassroots.roster'))"))  # type: ignore[call-overload]


async def load_roster_snapshot(*, session: AsyncSession) -> RosterSnapshot:
    # SQLModel's select() is typed for at most four columns (here and for people below).
    orgs = [OrgRecord(*row) for row in await session.exec(select(  # type: ignore[call-overload]
        Organisation.id, Organisation.code, Organisation.name, Organisation.level, Organisation.parent_id,
        Organisation.path,
    ))]
    units = [UnitRecord(*row) for row in await session.exec(select(Unit.id, Unit.code, Unit.name, Unit.org_id))]
    people = {row[0]: PersonRecord(*row) for row in await session.exec(select(  # type: ignore[call-overload,misc]
        Person.id, Person.name, Person.kind, Person.phone, Person.is_mobile, Person.is_in_service,
        Person.is_retired, Person.report_org_id, Person.unit_id, Person.invite_code, Person.work_userid,
    ))}
    for mid, person_id, org_id, primary in await session.exec(
        select(col_not_none(Membership.id), Membership.person_id, Membership.org_id, Membership.is_primary)
    ):
        people[person_id].memberships[org_id] = (mid, primary)
    for rid, person_id, org_id, kind in await session.exec(
        select(col_not_none(Role.id), Role.person_id, Role.org_id, col(Role.kind))
    ):
        people[person_id].roles[(kind, org_id)] = rid
    for person_id in await session.exec(
        select(col_not_none(Identity.person_id)).where(col(Identity.person_id).is_not(None)).distinct()
    ):
        people[person_id].is_bound = True
    return RosterSnapshot(
        orgs={o.code: o for o in orgs},
        units={u.code: u for u in units},
        people={p.phone: p for p in people.values() if p.phone},
        without_phone=[p for p in people.values() if not p.phone],
        work_userids={p.work_userid: p for p in people.values() if p.work_userid},
        invite_codes={p.invite_code for p in people.values() if p.invite_code},
    )


def _table(model: Any) -> Table:
    # Core, not ORM bulk statements: the ORM splits an executemany wherever the pattern of None values
    # changes from one row to the next, which made 10,000 people take seconds instead of milliseconds.
    return model.__table__


async def _insert_returning(session: AsyncSession, model: Any, key: str, rows: Sequence[dict]) -> dict[Any, int]:
    table, ids = _table(model), {}
    for part in chunked(rows):
        result = await session.exec(insert(table).returning(table.c.id, table.c[key]), params=part)
        ids.update({k: i for i, k in result})
    return ids


async def _update_by_id(session: AsyncSession, model: Any, rows: Sequence[dict]) -> None:
    """Rows are dicts with "id" and the same columns to set."""
    table = _table(model)
    stmt = update(table).where(table.c.id == bindparam("row_id"))
    for part in chunked(rows):
        params = [{"row_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in part]
        await session.exec(stmt, params=params)


async def insert_organisations(*, session: AsyncSession, rows: Sequence[dict]) -> dict[str, int]:
    """Code → id of the new rows; the caller inserts parents before children."""
    return await _insert_returning(session, Organisation, "code", rows)


async def update_organisations(*, session: AsyncSession, rows: Sequence[dict]) -> None:
    await _update_by_id(session, Organisation, rows)


async def insert_units(*, session: AsyncSession, rows: Sequence[dict]) -> dict[str, int]:
    return await _insert_returning(session, Unit, "code", rows)


async def update_units(*, session: AsyncSession, rows: Sequence[dict]) -> None:
    await _update_by_id(session, Unit, rows)


async def insert_people(*, session: AsyncSession, rows: Sequence[dict]) -> dict[str, int]:
    """Phone → id of the new people."""
    return await _insert_returning(session, Person, "phone", rows)


async def update_people(*, session: AsyncSession, rows: Sequence[dict]) -> None:
    await _update_by_id(session, Person, rows)


async def release_work_userids(*, session: AsyncSession, person_ids: Iterable[int]) -> None:
    """Clears the userids that are about to move, so a swap between two people never collides."""
    ids = list(person_ids)
    for part in chunked(ids):
        await session.exec(update(Person).where(col(Person.id).in_(part)).values(work_userid=None))


async def change_memberships(
    *, session: AsyncSession, delete_ids: Sequence[int], demote_ids: Sequence[int],
    promote_ids: Sequence[int], inserts: Sequence[dict],
) -> None:
    """In this order, the partial unique index (one primary per person) holds after every statement."""
    for part in chunked(delete_ids):
        await session.exec(delete(Membership).where(col(Membership.id).in_(part)))
    for ids, primary in ((demote_ids, False), (promote_ids, True)):
        for part in chunked(ids):
            await session.exec(
                update(Membership).where(col(Membership.id).in_(part)).values(is_primary=primary)
            )
    for rows in chunked(inserts):
        await session.exec(insert(_table(Membership)), params=rows)


async def change_roles(*, session: AsyncSession, delete_ids: Sequence[int], inserts: Sequence[dict]) -> None:
    for part in chunked(delete_ids):
        await session.exec(delete(Role).where(col(Role.id).in_(part)))
    for rows in chunked(inserts):
        await session.exec(insert(_table(Role)), params=rows)
