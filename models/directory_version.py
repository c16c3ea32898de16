"""Who changed in the directory, for the in-memory copy every process keeps (bot/directory_cache.py).

A single counter row (`directory_version`) plus a log of what each version changed: the identities and
people to load again, or everything (a roster import). A writer takes the next version with an UPDATE of
the counter row as its commit begins and holds it locked until the commit ends, so versions become
visible in the order they were taken: a process that has applied every change up to version V never
misses one below it."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Index, delete, event, insert, update
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.row_writes import DIRECTORY_VERSION, RowWrite, table_of


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
    identity_versions: dict[int, list[int]] = field(default_factory=dict)  # the versions each identity changed at


PENDING = "grassroots.directory_changes"


async def note_directory_change(
    *, session: AsyncSession, identity_ids: Iterable[int] = (), person_ids: Iterable[int] = (),
    everything: bool = False,
) -> None:
    """Records that the caller's transaction changes these identities and people (nothing named:
    everything). They are written as one version when the transaction commits (`_write_changes`), so
    the counter row is locked only for the commit itself, however many changes the transaction notes."""
    pending: Changes = session.sync_session.info.setdefault(PENDING, Changes(0))
    identity_ids, person_ids = set(identity_ids), set(person_ids)
    pending.identity_ids |= identity_ids
    pending.person_ids |= person_ids
    pending.everything |= everything or not (identity_ids or person_ids)


def _write_changes(session: Session) -> None:
    pending: Changes | None = session.info.pop(PENDING, None)
    if pending is None:
        return
    version = session.execute(
        update(DirectoryVersion).values(version=col(DirectoryVersion.version) + 1)
        .returning(col(DirectoryVersion.version))
    ).scalar_one()
    now = utcnow()
    rows = [{"version": version, "identity_id": i, "person_id": None, "at": now} for i in pending.identity_ids]
    rows += [{"version": version, "identity_id": None, "person_id": p, "at": now} for p in pending.person_ids]
    if pending.everything:
        rows = [{"version": version, "identity_id": None, "person_id": None, "at": now}]
    session.execute(insert(DirectoryChange), rows)


def _drop_changes(session: Session) -> None:
    session.info.pop(PENDING, None)


# Every session's commit writes what it noted; a rollback forgets it. (Listeners, not a wrapper: the
# callers commit through their own sessions, in handlers, the CLI and the roster import alike.)
event.listen(Session, "before_commit", _write_changes)
event.listen(Session, "after_rollback", _drop_changes)


async def bump_directory_version(*, session: AsyncSession) -> None:
    """Everything may have changed (a roster import, a test's direct writes): every process reloads."""
    await note_directory_change(session=session, everything=True)


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
    for v, identity_id, person_id in rows:
        if identity_id is None and person_id is None:
            changes.everything = True
        if identity_id is not None:
            changes.identity_ids.add(identity_id)
            changes.identity_versions.setdefault(identity_id, []).append(v)
        if person_id is not None:
            changes.person_ids.add(person_id)
    return changes


async def prune_directory_changes(*, session: AsyncSession, before: datetime) -> int:
    """Drops the log older than `before` (a process that far behind reloads everything)."""
    result = await session.exec(delete(DirectoryChange).where(col(DirectoryChange.at) < before))
    return int(result.rowcount or 0)


# The next version, for rows written through the inbound log's batch (bot/callbacks/row_sql.py): the
# same UPDATE a session's commit makes, in SQL both databases run as it is.
TAKE_VERSION = "UPDATE directory_version SET version = version + 1 RETURNING version"


def directory_change(*, identity_id: Any = None, person_id: Any = None) -> RowWrite:
    """A change log row for a `RowWrite` batch: the identity or person (or PARENT_ID) changed."""
    return RowWrite(table_of(DirectoryChange), {"version": DIRECTORY_VERSION, "identity_id": identity_id,
                                                "person_id": person_id, "at": utcnow()})
