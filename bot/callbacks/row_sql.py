"""The SQL of described row writes (models/row_writes.py), built once per shape and run at driver level
inside the inbound log's batch transaction: sqlite3 on the journal's writer thread, asyncpg on its
connection. Values go through the columns' own SQLAlchemy bind processors, so a row is stored exactly as
the ORM would store it (enums by name, aware datetimes in UTC, JSON as text)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from models.directory_version import TAKE_VERSION
from models.row_writes import DIRECTORY_VERSION, PARENT_ID, RowWrite, Written


@dataclass(frozen=True, slots=True)
class Shape:
    sql: str
    columns: tuple[str, ...]  # the parameters, in order: values then where columns (not NULL ones)
    processors: tuple[Callable[[Any], Any] | None, ...]


def _shape_key(row: RowWrite) -> tuple[Any, ...]:
    where = None if row.where is None else tuple((k, v is None) for k, v in row.where.items())
    return row.table.name, tuple(row.values), row.conflict, where


class Statements:
    """Shapes per dialect (`numbered`: asyncpg's $1, else sqlite3's ?)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._numbered = dialect.name == "postgresql"
        self._shapes: dict[tuple[Any, ...], Shape] = {}

    def _mark(self, n: int) -> str:
        return f"${n}" if self._numbered else "?"

    def of(self, row: RowWrite) -> Shape:
        key = _shape_key(row)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._build(row)
        return shape

    def _build(self, row: RowWrite) -> Shape:
        table: Table = row.table
        returning = " RETURNING id" if "id" in table.c else " RETURNING 1"
        names = tuple(row.values)
        if row.where is None:
            marks = ", ".join(self._mark(i + 1) for i in range(len(names)))
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
            if row.conflict:
                sql += f" ON CONFLICT ({', '.join(row.conflict)}) DO NOTHING"
            params = names
        else:
            sets = ", ".join(f"{n} = {self._mark(i + 1)}" for i, n in enumerate(names))
            conditions, matched = [], []
            for name, value in row.where.items():
                if value is None:
                    conditions.append(f"{name} IS NULL")
                else:
                    matched.append(name)
                    conditions.append(f"{name} = {self._mark(len(names) + len(matched))}")
            sql = f"UPDATE {table.name} SET {sets} WHERE {' AND '.join(conditions)}"
            params = names + tuple(matched)
        processors = tuple(table.c[n].type.bind_processor(self._dialect) for n in params)
        return Shape(sql + returning, params, processors)

    def params(self, row: RowWrite, shape: Shape, parent_id: int | None, version: Callable[[], int]) -> list[Any]:
        source = dict(row.values)
        if row.where is not None:
            source.update({k: v for k, v in row.where.items() if v is not None})
        out = []
        for name, process in zip(shape.columns, shape.processors, strict=True):
            value = source[name]
            if value is PARENT_ID:
                value = parent_id
            elif value is DIRECTORY_VERSION:
                value = version()
            out.append(process(value) if process is not None and value is not None else value)
        return out


# Rows that name the directory version are written last, and the version is taken just before them:
# the counter row is then locked only at the end of the batch, as a session's commit locks it, so the
# two never wait for each other in opposite orders.
Later = list[tuple[RowWrite, int | None]]


def write_sqlite(conn: Any, statements: Statements, groups: Sequence[Sequence[RowWrite]]) -> list[list[Written]]:
    """Runs in the journal's open SQLite transaction; one result list per group."""
    later: Later = []

    def one(row: RowWrite, parent_id: int | None) -> Written:
        if _names_version(row):
            later.append((row, parent_id))
            return Written(True)
        shape = statements.of(row)
        found = conn.execute(shape.sql, statements.params(row, shape, parent_id, _no_version)).fetchall()
        if not found:
            return Written(False)
        new_id = found[0][0] if "id" in row.table.c else None
        for child in row.then:
            one(child, new_id)
        return Written(True, new_id)

    results = [[one(row, None) for row in group] for group in groups]
    if later:
        version = conn.execute(TAKE_VERSION).fetchone()[0]
        for row, parent_id in later:
            shape = statements.of(row)
            conn.execute(shape.sql, statements.params(row, shape, parent_id, lambda: version))
    return results


async def write_postgres(
    conn: Any, statements: Statements, groups: Sequence[Sequence[RowWrite]]
) -> list[list[Written]]:
    """Runs in the journal's open PostgreSQL transaction; one result list per group."""
    later: Later = []

    async def one(row: RowWrite, parent_id: int | None) -> Written:
        if _names_version(row):
            later.append((row, parent_id))
            return Written(True)
        shape = statements.of(row)
        found = await conn.fetch(shape.sql, *statements.params(row, shape, parent_id, _no_version))
        if not found:
            return Written(False)
        new_id = found[0][0] if "id" in row.table.c else None
        for child in row.then:
            await one(child, new_id)
        return Written(True, new_id)

    results = [[await one(row, None) for row in group] for group in groups]
    if later:
        version = await conn.fetchval(TAKE_VERSION)
        for row, parent_id in later:
            shape = statements.of(row)
            await conn.execute(shape.sql, *statements.params(row, shape, parent_id, lambda: version))
    return results


def _no_version() -> int:
    raise AssertionError("rows naming the directory version are written last")


def _names_version(row: RowWrite) -> bool:
    """The row itself names the version (its `then` rows are looked at when they are written)."""
    return any(v is DIRECTORY_VERSION for v in row.values.values())
