"""Test databases: a migrated SQLite file, or (GRASSROOTS_TEST_DATABASE_URL set) a scratch PostgreSQL
database created beside the given one and dropped afterwards."""

import asyncio
import os
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
def scratch_database(tmp_dir: Path) -> Iterator[str]:
    """Yields the URL of a freshly migrated database; removes it afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        url = f"sqlite+aiosqlite:///{tmp_dir / 'test.db'}"
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


async def empty_all_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))
        await conn.execute(text("INSERT INTO directory_version (id, version) VALUES (1, 0)"))
