"""Test databases, fresh for every test: a copy of a migrated SQLite file, or (with
GRASSROOTS_TEST_DATABASE_URL set) a scratch PostgreSQL database created beside the given one, emptied
between tests and dropped afterwards."""

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models  # noqa: F401
from bot.db import create_engine
from bot.migrate import upgrade_to_head

PG_ENV = "GRASSROOTS_TEST_DATABASE_URL"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def migrated_template(tmp_dir: Path) -> Iterator[str]:
    """The URL of a freshly migrated database for this test session; removed afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        url = f"sqlite+aiosqlite:///{tmp_dir / 'template.db'}"
        upgrade_to_head(url)
        yield url
        return
    name = f"grassroots_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_to_head(url)
        yield url
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def fresh_database(template_url: str, tmp_dir: Path) -> str:
    """An empty, migrated database for one test."""
    template = make_url(template_url)
    if template.get_backend_name() == "sqlite":
        target = tmp_dir / "test.db"
        shutil.copyfile(str(template.database), target)
        return template.set(database=str(target)).render_as_string(hide_password=False)
    engine = create_engine(template_url)
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    async with engine.begin() as conn:
        # TRUNCATE fires no row triggers, so the append-only audit log can be emptied between tests.
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await conn.execute(text("INSERT INTO directory_version (id, version) VALUES (1, 0)"))
    await engine.dispose()
    return template_url


async def empty_all_tables(engine: AsyncEngine) -> None:
    """Empty an existing test database in place (for tests that need "an empty database" twice)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # The append-only triggers would refuse the DELETE: lift them for the moment of emptying.
            triggers = (await conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))).all()
            for name, _ in triggers:
                await conn.execute(text(f"DROP TRIGGER {name}"))
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))
            for _, sql in triggers:
                await conn.execute(text(sql))
        await conn.execute(text("INSERT INTO directory_version (id, version) VALUES (1, 0)"))
