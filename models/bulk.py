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
    per_statement: int = IN_CHUNK,
) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING on SQLite and PostgreSQL alike; the number of rows that
    were new (counted by RETURNING, since a skipped row returns nothing). The rows go as one executemany
    per `per_statement` rows: SQLAlchemy batches them into multi-row VALUES itself ("insertmanyvalues")
    with one cached statement, where a statement built from the row values would be compiled anew each
    time (10,000 outbox rows: 0.3 s instead of 2.8 s on SQLite)."""
    if not rows:
        return 0
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    primary_key = next(iter(table.__table__.primary_key.columns))  # type: ignore[attr-defined]
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=list(key)).returning(primary_key)
    written = 0
    for part in chunks(rows, per_statement):
        result = await session.exec(stmt, params=list(part))
        written += len(result.all())
    return written
