"""Statements over many rows at once: chunks that stay under the bound-parameter limits, and the
dialect-aware insert that skips rows a concurrent or repeated run already wrote."""

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
# Bound parameters per statement are limited (SQLite 32766, asyncpg 32767): ids per IN list.
IN_CHUNK = 5000


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def insert_ignoring_conflicts(
    *, session: AsyncSession, table: type[SQLModel], rows: Sequence[dict[str, Any]], key: Sequence[str],
    per_statement: int = 500,
) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING on SQLite and PostgreSQL alike; the number of rows
    that were new. `per_statement` rows go in one statement (columns × rows stay under the limits)."""
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    written = 0
    for part in chunks(rows, per_statement):
        stmt = dialect.insert(table).values(list(part)).on_conflict_do_nothing(index_elements=list(key))
        result = await session.exec(stmt)
        written += max(result.rowcount, 0)
    return written
