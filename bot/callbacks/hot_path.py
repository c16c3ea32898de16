"""The handlers' batched database access on the callback path (handlers/context.py `HotPath`): reads of
every handler of a moment in one query (bot/batch_loader.py) or from the in-memory directory, writes in
the inbound log's group commit (models/row_writes.py)."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.batch_loader import BatchLoader
from bot.callbacks.journal import InboundJournal
from bot.directory_cache import DirectoryCache
from models.directory import PersonEntry
from models.engagement import AwaitingNotice, awaiting_receipts_of
from models.identity import Platform
from models.row_writes import RowWrite, Written


class CallbackHotPath:
    def __init__(self, *, engine: AsyncEngine, journal: InboundJournal, directory: DirectoryCache) -> None:
        self._engine = engine
        self._journal = journal
        self._directory = directory
        self.receipts: BatchLoader[int, list[AwaitingNotice]] = BatchLoader(
            self._load_receipts, missing=list, name="awaiting receipts")

    async def write(self, rows: Sequence[RowWrite]) -> list[Written]:
        return await self._journal.write(rows)

    async def awaiting_receipts(self, person_id: int) -> list[AwaitingNotice]:
        return await self.receipts.get(person_id)

    def roster_work_user(self, userid: str) -> tuple[int, PersonEntry] | None:
        return self._directory.work_user(userid)

    def learn_sender(self, platform: Platform, app_id: str, external_id: str, identity_id: int, person_id: int,
                     person: PersonEntry, version: int | None) -> None:
        self._directory.learn((platform, app_id, external_id), identity_id, person_id, person, version)

    async def _load_receipts(self, person_ids: list[int]) -> dict[int, list[AwaitingNotice]]:
        async with self._engine.connect() as conn:
            return await awaiting_receipts_of(conn, person_ids)
