"""Who changed in the directory, for the in-memory copy every process keeps (bot/directory_cache.py).

A single counter row (`directory_version`) plus a log of what each version changed: the identities and
people to load again, or everything (a roster import). A writer takes the next version with an UPDATE of
the counter row, which it holds locked until its commit, so versions become visible in the order they
were taken: a process that has applied every change up to version V never misses one below it."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Index, delete, insert, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow


class DirectoryVersion(SQLModel, table=True):
    __tablename__ = "directory_version"
    id: int = Field(default=1, primary_key=True)
    version: int = 0


class DirectoryChange(SQLModel, table=True):
    """One changed identity or person at a version; both None: everything changed."""

    __tablename__ = "directory_change"
    __table_args__ = (Index("ix_directory_change_version", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    version: int
    identity_id: int | None = None
    person_id: int | None = None
    at: datetime = Field(default_factory=utcnow)


@dataclass(slots=True)
class Changes:
    version: int
    identity_ids: set[int] = field(default_factory=set)
    person_ids: set[int] = field(default_factory=set)
    everything: bool = False


async def note_directory_change(
    *, session: AsyncSession, identity_ids: Iterable[int] = (), person_ids: Iterable[int] = (),
    everything: bool = False,
) -> int:
    """Records what the caller's transaction changes (call it last, just before the commit: the
    counter row stays locked until then); the new version."""
    version = (await session.exec(
        update(DirectoryVersion).values(version=col(DirectoryVersion.version) + 1)
        .returning(col(DirectoryVersion.version))
    )).scalar_one()
    rows = [{"version": version, "identity_id": i, "person_id": None, "at": utcnow()} for i in set(identity_ids)]
    rows += [{"version": version, "identity_id": None, "person_id": p, "at": utcnow()} for p in set(person_ids)]
    if everything or not rows:
        rows = [{"version": version, "identity_id": None, "person_id": None, "at": utcnow()}]
    await session.exec(insert(DirectoryChange), params=rows)
    return int(version)


async def bump_directory_version(*, session: AsyncSession) -> int:
    """Everything may have changed (a roster import, a test's direct writes): every process reloads."""
    return await note_directory_change(session=session, everything=True)


async def read_directory_version(*, session: AsyncSession) -> int:
    row = await session.get(DirectoryVersion, 1)
    return row.version if row else 0


async def changes_since(*, session: AsyncSession, version: int) -> Changes:
    """What changed after `version`, up to the current one. Everything, when the log no longer reaches
    back that far (pruned)."""
    current = await read_directory_version(session=session)
    changes = Changes(current)
    if current <= version:
        return changes
    rows = (await session.exec(
        select(col(DirectoryChange.version), col(DirectoryChange.identity_id), col(DirectoryChange.person_id))
        .where(col(DirectoryChange.version) > version, col(DirectoryChange.version) <= current)
    )).all()
    # A version is taken by updating a row, so a rolled-back transaction gives its number back: a
    # missing version was pruned from the log, and what it changed is unknown.
    if len({v for v, _i, _p in rows}) < current - version:
        changes.everything = True
    for _v, identity_id, person_id in rows:
        if identity_id is None and person_id is None:
            changes.everything = True
        if identity_id is not None:
            changes.identity_ids.add(identity_id)
        if person_id is not None:
            changes.person_ids.add(person_id)
    return changes


async def prune_directory_changes(*, session: AsyncSession, before: datetime) -> int:
    """Drops the log older than `before` (a process that far behind reloads everything)."""
    result = await session.exec(delete(DirectoryChange).where(col(DirectoryChange.at) < before))
    return int(result.rowcount or 0)
