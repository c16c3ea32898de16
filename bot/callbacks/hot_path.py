"""The handlers' batched database access on the callback path (handlers/context.py `HotPath`): reads of
every handler of a moment in one query (bot/batch_loader.py) or from the in-memory directory, writes in
the inbound log's group commit (models/row_writes.py)."""

from collections.abc import Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.batch_loader import BatchLoader
from bot.callbacks.journal import InboundJournal
from bot.callbacks.journal_stores import driver_pool
from bot.directory_cache import DirectoryCache
from models.clock import utcnow
from models.directory import PersonEntry
from models.engagement import Awaited, awaiting_by_person, awaiting_receipts_of, awaiting_receipts_sql
from models.identity import Platform
from models.row_writes import RowWrite, Written

READERS = 2  # the loaders' concurrency


class CallbackHotPath:
    def __init__(self, *, engine: AsyncEngine, journal: InboundJournal, directory: DirectoryCache) -> None:
        self._engine = engine
        self._journal = journal
        self._directory = directory
        self.receipts: BatchLoader[int, Awaited] = BatchLoader(
            self._load_receipts, missing=Awaited, name="awaiting receipts", concurrency=READERS)
        # PostgreSQL: the look-ups at driver level, on a pool of their own (SQLite: through the engine,
        # whose thread hop is the cheaper part there).
        self._pool: asyncpg.Pool | None = None
        self._receipts_sql = ""

    async def start(self) -> None:
        if self._engine.dialect.name == "postgresql":
            self._receipts_sql = awaiting_receipts_sql(self._engine.dialect)
            self._pool = await driver_pool(self._engine, READERS)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def write(self, rows: Sequence[RowWrite]) -> list[Written]:
        return await self._journal.write(rows)

    async def awaiting(self, person_id: int) -> Awaited:
        return await self.receipts.get(person_id)

    def roster_work_user(self, userid: str) -> tuple[int, PersonEntry] | None:
        return self._directory.work_user(userid)

    def learn_sender(self, platform: Platform, app_id: str, external_id: str, identity_id: int, person_id: int,
                     person: PersonEntry, version: int | None) -> None:
        self._directory.learn((platform, app_id, external_id), identity_id, person_id, person, version)

    async def _load_receipts(self, person_ids: list[int]) -> dict[int, Awaited]:
        if self._pool is not None:
            async with self._pool.acquire() as raw:
                return awaiting_by_person(await raw.fetch(self._receipts_sql, person_ids, utcnow()))
        async with self._engine.connect() as conn:
            return await awaiting_receipts_of(conn, person_ids)
