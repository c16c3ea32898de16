"""Values mypy sees as optional that a query or the database guarantees: SQLModel types a table's `id`
as `int | None` (None only until the row is inserted), and a nullable column stays `T | None` even in
a query that keeps to the rows that have it."""

from typing import Protocol, TypeVar, cast

from sqlalchemy.orm import Mapped
from sqlmodel import col

T = TypeVar("T")


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def col_not_none(column: T | None) -> Mapped[T]:
    """col() of a column that is never NULL in the rows a query returns (a primary key, or a nullable
    column the query filters on): the SQL is col()'s, and mypy sees the selected values as T."""
    return cast("Mapped[T]", col(column))


def id_of(row: _Row) -> int:
    """The id of a row read from the database or flushed to it."""
    assert row.id is not None, f"{type(row).__name__} has no id before it is flushed"
    return row.id
