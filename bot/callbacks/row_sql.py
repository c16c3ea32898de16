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
    columns: tuple[str, ...]  # the parameters, in order
    processors: tuple[Callable[[Any], Any] | None, ...]


def _shape_key(row: RowWrite) -> tuple[Any, ...]:
    return row.table.name, tuple(row.values), row.conflict


class Statements:
    """Shapes per dialect (`numbered`: asyncpg's $1, else sqlite3's ?)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._numbered = dialect.name == "postgresql"
        self._shapes: dict[tuple[Any, ...], Shape] = {}
        self._arrays: dict[tuple[Any, ...], tuple[str, list[int]]] = {}
        self._ctes: dict[tuple[Any, ...], str] = {}

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
        marks = ", ".join(self._mark(i + 1) for i in range(len(names)))
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        if row.conflict:
            sql += f" ON CONFLICT ({', '.join(row.conflict)}) DO NOTHING"
        processors = tuple(table.c[n].type.bind_processor(self._dialect) for n in names)
        return Shape(sql + returning, names, processors)

    def insert_arrays(self, row: RowWrite) -> tuple[str, list[int]]:
        """PostgreSQL: the insert of many rows of `row`'s shape as one statement over column arrays,
        returning (id or 1, conflict key columns...) of the rows inserted; and where the key columns sit
        among the parameters."""
        key = ("arrays", *_shape_key(row))
        if key not in self._arrays:
            table, names = row.table, tuple(row.values)
            casts = ", ".join(f"${i + 1}::{table.c[n].type.compile(dialect=self._dialect)}[]"
                              for i, n in enumerate(names))
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({casts})"
            if row.conflict:
                sql += f" ON CONFLICT ({', '.join(row.conflict)}) DO NOTHING"
            first = "id" if "id" in table.c else "1"
            sql += f" RETURNING {', '.join((first, *row.conflict))}"
            self._arrays[key] = (sql, [names.index(c) for c in row.conflict])
        return self._arrays[key]

    def children_cte(self, child: RowWrite, parent: RowWrite, name: str, before: int) -> str:
        """PostgreSQL: `name AS (INSERT ...)`, the inserts of many `child` rows of `parent`'s shape
        within the parents' statement (their insert is the CTE `p`): each child is sent with its
        parent's conflict key and written only if that parent was inserted, its PARENT_ID columns
        taken from `p.id`. Its parameters are the child's columns without those, then the key's,
        numbered after `before` others."""
        parent_ids = tuple(n for n, v in child.values.items() if v is PARENT_ID)
        key = ("children", *_shape_key(child), parent_ids, *_shape_key(parent), name, before)
        if key not in self._ctes:
            names = tuple(child.values)
            sent = [n for n in names if n not in parent_ids]
            types = [child.table.c[n].type for n in sent] + [parent.table.c[n].type for n in parent.conflict]
            casts = ", ".join(f"${before + j + 1}::{t.compile(dialect=self._dialect)}[]" for j, t in enumerate(types))
            aliases = ", ".join([f"c{j}" for j in range(len(sent))] + [f"k{j}" for j in range(len(parent.conflict))])
            picked = ", ".join("p.id" if n in parent_ids else f"u.c{sent.index(n)}" for n in names)
            join = " AND ".join(f"p.{n} = u.k{j}" for j, n in enumerate(parent.conflict))
            self._ctes[key] = (f"{name} AS (INSERT INTO {child.table.name} ({', '.join(names)}) "
                               f"SELECT {picked} FROM unnest({casts}) AS u({aliases}) JOIN p ON {join} RETURNING 1)")
        return self._ctes[key]

    def child_params(self, child: RowWrite) -> list[Any]:
        """A child's parameters for `children_cte` (without its PARENT_ID columns, the key not added)."""
        shape = self.of(child)
        return [v for n, v in zip(shape.columns, self.params(child, shape, None, _no_version), strict=True)
                if child.values[n] is not PARENT_ID]

    def insert_taking_version(self, row: RowWrite) -> tuple[str, list[int]]:
        """PostgreSQL: the insert of many rows of `row`'s shape that takes the next directory version
        itself (a data-modifying CTE) and puts it in the columns that name it, returning it; and which
        parameters those columns are (they are not sent)."""
        key = ("version", *_shape_key(row))
        if key not in self._arrays:
            table, names = row.table, tuple(row.values)
            marked = [i for i, n in enumerate(names) if row.values[n] is DIRECTORY_VERSION]
            sent = [n for i, n in enumerate(names) if i not in marked]
            casts = ", ".join(f"${j + 1}::{table.c[n].type.compile(dialect=self._dialect)}[]"
                              for j, n in enumerate(sent))
            picked = ", ".join("v.version" if i in marked else f"u.c{sent.index(n)}" for i, n in enumerate(names))
            aliases = ", ".join(f"c{j}" for j in range(len(sent)))
            sql = (f"WITH v AS ({TAKE_VERSION}) INSERT INTO {table.name} ({', '.join(names)}) "
                   f"SELECT {picked} FROM v, unnest({casts}) AS u({aliases}) RETURNING (SELECT version FROM v)")
            self._arrays[key] = (sql, marked)
        return self._arrays[key]

    def params(self, row: RowWrite, shape: Shape, parent_id: int | None, version: Callable[[], int]) -> list[Any]:
        out = []
        for name, process in zip(shape.columns, shape.processors, strict=True):
            value = row.values[name]
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
        results = _stamped(results, version)
    return results


# A statement to run with the next one, as a data-modifying CTE: its text given the number of the
# parameters before its own ("name AS (UPDATE ... $n+1 ...)"), and its parameters.
Attached = tuple[Callable[[int], str], list[Any]]


class _Riding:
    """The statement waiting to ride along with the next one of the batch (a round trip saved)."""

    def __init__(self) -> None:
        self.waiting: Attached | None = None

    def onto(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        if self.waiting is None:
            return sql, params
        cte, extra = self.waiting
        self.waiting = None
        fragment = cte(len(params))
        sql = f"WITH {fragment}, {sql[5:]}" if sql.startswith("WITH ") else f"WITH {fragment} {sql}"
        return sql, params + extra

    async def fetch(self, conn: Any, sql: str, params: list[Any]) -> list[Any]:
        sql, params = self.onto(sql, params)
        return list(await conn.fetch(sql, *params))


async def write_postgres(
    conn: Any, statements: Statements, groups: Sequence[Sequence[RowWrite]],
    then: Callable[[list[list[Written]]], Attached | None] | None = None,
) -> list[list[Written]]:
    """Runs in the journal's open PostgreSQL transaction; one result list per group. The inserts of one
    shape go as one statement over arrays (a round trip per shape and level, not per row), so a batch
    of 200 收到 costs two statements, not 400. `then` is told the groups' results as soon as they are
    known (before their rows' `then` rows and the directory version are written) and may give a
    statement that rides along with the next one."""
    results: list[list[Written]] = [[Written(False)] * len(group) for group in groups]
    Item = tuple[RowWrite, int | None, tuple[int, int] | None]  # the row, its parent's id, its result slot
    level: list[Item] = [(row, None, (g, r)) for g, group in enumerate(groups) for r, row in enumerate(group)]
    later: Later = []
    riding = _Riding()
    if not level and then is not None:
        riding.waiting = then(results)
    while level:
        below: list[Item] = []
        shapes: dict[tuple[Any, ...], list[Item]] = {}
        for item in level:
            row = item[0]
            if _names_version(row):
                later.append((row, item[1]))
                if item[2] is not None:
                    results[item[2][0]][item[2][1]] = Written(True)
            else:
                shapes.setdefault(_shape_key(row), []).append(item)
        for items in shapes.values():
            outcomes = await _write_shape(conn, statements, items, riding)
            for (_row, _parent, slot), (written, rest) in zip(items, outcomes, strict=True):
                if slot is not None:
                    results[slot[0]][slot[1]] = written
                if written.done:
                    below += [(child, written.id, None) for child in rest]
        if then is not None and level and level[0][2] is not None:  # the groups' own rows are written
            riding.waiting = then(results)
        level = below
    if later:
        results = _stamped(results, await _write_versioned(conn, statements, later, riding))
    if riding.waiting is not None:  # nothing came after: it goes alone
        await riding.fetch(conn, "SELECT 1", [])
    return results


async def _write_versioned(conn: Any, statements: Statements, later: Later, riding: _Riding) -> int:
    """The rows that name the directory version, the version taken by the first statement; returns it.
    A batch of first contacts names the version once per member: one statement per shape."""
    by_shape: dict[tuple[Any, ...], Later] = {}
    for row, parent_id in later:
        by_shape.setdefault(_shape_key(row), []).append((row, parent_id))
    shapes = list(by_shape.values())
    first = shapes[0][0][0]
    if first.conflict:  # it might insert nothing, and a version taken must be logged
        version = int((await riding.fetch(conn, TAKE_VERSION, []))[0][0])
    else:
        shape = statements.of(first)
        sql, marked = statements.insert_taking_version(first)
        params = [statements.params(row, shape, parent_id, lambda: 0) for row, parent_id in shapes[0]]
        columns = [list(c) for i, c in enumerate(zip(*params, strict=True)) if i not in marked]
        version = int((await riding.fetch(conn, sql, columns))[0][0])
        shapes = shapes[1:]
    for rows in shapes:
        shape = statements.of(rows[0][0])
        params = [statements.params(row, shape, parent_id, lambda: version) for row, parent_id in rows]
        if len(rows) == 1:
            await riding.fetch(conn, shape.sql, params[0])
        else:
            columns = [list(c) for c in zip(*params, strict=True)]
            await riding.fetch(conn, statements.insert_arrays(rows[0][0])[0], columns)
    return version


def _stamped(results: list[list[Written]], version: int) -> list[list[Written]]:
    # Every change the batch logged is at this one version.
    return [[Written(True, w.id, version) if w.done else w for w in group] for group in results]


Outcome = tuple[Written, tuple[RowWrite, ...]]  # what a row did, and its `then` rows still to write


async def _write_shape(conn: Any, statements: Statements, items: Sequence[tuple[RowWrite, int | None, Any]],
                       riding: _Riding) -> list[Outcome]:
    first = items[0][0]
    shape = statements.of(first)
    has_id = "id" in first.table.c
    # Without a key (which the rows with one are matched by, and their children with them): one row,
    # or rows whose children need their ids, one statement each (RETURNING of a multi-row insert does
    # not promise the input's order).
    if not first.conflict and (len(items) == 1 or (has_id and first.then)):
        out = []
        for row, parent_id, _slot in items:
            found = await riding.fetch(conn, shape.sql, statements.params(row, shape, parent_id, _no_version))
            out.append((Written(bool(found), found[0][0] if found and has_id else None), row.then))
        return out
    rows = [statements.params(row, shape, parent_id, _no_version) for row, parent_id, _slot in items]
    sql, key_at = statements.insert_arrays(first)
    columns = [list(column) for column in zip(*rows, strict=True)]
    if not first.conflict:
        await riding.fetch(conn, sql, columns)
        return [(Written(True), row.then) for row, _parent, _slot in items]
    keys = [tuple(params[i] for i in key_at) for params in rows]
    # The children that need nothing but their parent (no rows below them, no directory version) are
    # written in the parents' statement, matched to them by the parents' key: one round trip for both.
    firsts, seen = [], set()
    for key in keys:
        firsts.append(key not in seen)  # the same key twice in one batch: the first one writes it
        seen.add(key)
    along: dict[tuple[Any, ...], tuple[RowWrite, list[list[Any]]]] = {}
    for (row, _parent, _slot), key, is_first in zip(items, keys, firsts, strict=True):
        for child in row.then:
            if is_first and _rides_along(child):
                params = statements.child_params(child) + list(key)
                along.setdefault(_shape_key(child), (child, []))[1].append(params)
    if along:
        ctes, params = [], list(columns)
        for n, (child, child_rows) in enumerate(along.values()):
            ctes.append(statements.children_cte(child, first, f"c{n}", len(params)))
            params += [list(column) for column in zip(*child_rows, strict=True)]
        sql, columns = f"WITH p AS ({sql}), {', '.join(ctes)} SELECT * FROM p", params
    returned = await riding.fetch(conn, sql, columns)
    ids = {tuple(r[1:]): (r[0] if has_id else None) for r in returned}
    return [(Written(key in ids and is_first, ids.get(key) if is_first else None),
             tuple(c for c in row.then if not _rides_along(c)))
            for (row, _parent, _slot), key, is_first in zip(items, keys, firsts, strict=True)]


def _rides_along(child: RowWrite) -> bool:
    return not child.then and not _names_version(child)


def _no_version() -> int:
    raise AssertionError("rows naming the directory version are written last")


def _names_version(row: RowWrite) -> bool:
    """The row itself names the version (its `then` rows are looked at when they are written)."""
    return any(v is DIRECTORY_VERSION for v in row.values.values())
