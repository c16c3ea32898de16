"""Rows a callback handler writes through the inbound log's group commit, described rather than run.

A 收到 or a WeCom member's first contact changes a few rows. Written in a session of their own, each
reply paid a transaction and a commit beside the inbound log's, and on SQLite those commits queued for
its single write lock. Described as `RowWrite`s, the rows of every handler of a moment travel in the
inbound log's next batch (bot/callbacks/journal.py): one transaction, one commit, and the handler's
reply is sent only once they are durable. The module that owns a table builds its `RowWrite`s; the
journal only carries them.

A `RowWrite` inserts a row. With `conflict`, the insert is skipped when a row with the same values of
those columns exists (a repeated 收到). `then` rows are
written only when their parent was, and may name the parent's new id (`PARENT_ID`) and the directory
version the batch takes (`DIRECTORY_VERSION`, models/directory_version.py)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


PARENT_ID: Any = _Marker("PARENT_ID")  # the id of the row this one depends on
DIRECTORY_VERSION: Any = _Marker("DIRECTORY_VERSION")  # the version this batch's directory changes take


@dataclass(frozen=True, slots=True)
class RowWrite:
    table: Table
    values: Mapping[str, Any]
    conflict: tuple[str, ...] = ()  # insert unless a row with these columns' values exists
    then: tuple["RowWrite", ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Written:
    done: bool  # inserted
    id: int | None = None  # the new row's id, for tables with an `id`
    # The directory version the batch took, when its rows logged a directory change: the process that
    # wrote them knows that change, and its poll of the log need not read it back.
    version: int | None = None


class RowWriter(Protocol):
    async def write(self, rows: Sequence[RowWrite]) -> list[Written]:
        """Writes the rows in the next group commit; returns once they are durable, one `Written` per
        row given (their `then` rows are not reported)."""
        ...


def table_of(model: Any) -> Table:
    table: Table = model.__table__  # SQLModel does not declare __table__
    return table
