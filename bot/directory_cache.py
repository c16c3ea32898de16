"""Who is who, in memory: the callback hot path must not query the database per message.

Entries are dropped when this process changes an identity (forget) and all at once when the directory
version in the database moves (any process changed people, identities or roles), checked every
`poll_interval` seconds — the bound on how stale another instance's change can be here."""

import asyncio
import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from models.directory import SenderProfile, load_sender_profile, read_directory_version
from models.identity import Platform

log = logging.getLogger(__name__)
Key = tuple[Platform, str, str]


class DirectoryCache:
    def __init__(self, session_factory: SessionFactory, *, poll_interval: float = 1.0, max_entries: int = 200_000):
        self._sessions = session_factory
        self._poll_interval = poll_interval
        self._max_entries = max_entries
        self._entries: dict[Key, SenderProfile] = {}
        self._version = -1
        # Bumped on every drop, so a load that raced with a drop does not cache what it read before.
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.refresh_version()
        self._task = asyncio.create_task(self._poll(), name="directory-cache-poll")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def get(self, platform: Platform, app_id: str, external_id: str) -> SenderProfile:
        key = (platform, app_id, external_id)
        profile = self._entries.get(key)
        if profile is None:
            profile = await self.load(key)
        return profile

    async def load(self, key: Key) -> SenderProfile:
        generation = self._generation
        async with self._sessions() as session:
            profile = await load_sender_profile(
                session=session, platform=key[0], app_id=key[1], external_id=key[2]
            )
        if generation == self._generation:
            if len(self._entries) >= self._max_entries:
                self.clear()
            self._entries[key] = profile
        return profile

    def forget(self, key: Key) -> None:
        self._generation += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def refresh_version(self) -> None:
        session: AsyncSession
        async with self._sessions() as session:
            version = await read_directory_version(session=session)
        if version != self._version:
            self.clear()
            self._version = version

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self.refresh_version()
            except Exception:  # a database hiccup must not stop the polling
                log.exception("directory version poll failed; clearing the cache to stay correct")
                self.clear()
