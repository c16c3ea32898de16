"""One access token per app, shared by every process through the database (WECHAT.md: fetching a new
token invalidates the old one, so processes must not each fetch their own)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlmodel import select

from bot.db import SessionFactory
from models.bulk import insert_ignoring_conflicts
from models.clock import utcnow
from models.token import AccessToken

# Refresh this long before expiry, so a token is never used in its last minutes.
REFRESH_AHEAD = timedelta(minutes=5)
Fetcher = Callable[[], Awaitable[tuple[str, int]]]  # -> (token, expires_in seconds)


class TokenStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory
        self._cache: dict[str, tuple[str, datetime]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _fresh(self, token: str, expires_at: datetime, stale: str | None) -> bool:
        return token != stale and expires_at - REFRESH_AHEAD > utcnow()

    async def get(self, app_key: str, fetch: Fetcher, *, stale: str | None = None) -> str:
        """A valid token; `stale` is a token WeChat just refused (40001/42001), never returned again."""
        cached = self._cache.get(app_key)
        if cached and self._fresh(*cached, stale):
            return cached[0]
        lock = self._locks.setdefault(app_key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(app_key)
            if cached and self._fresh(*cached, stale):
                return cached[0]
            token, expires_at = await self._load_or_fetch(app_key, fetch, stale)
            self._cache[app_key] = (token, expires_at)
            return token

    async def _load_or_fetch(self, app_key: str, fetch: Fetcher, stale: str | None) -> tuple[str, datetime]:
        async with self._sessions() as session:
            # Writing the placeholder first takes the row (PostgreSQL) or database (SQLite) write lock,
            # so only one process in the whole deployment fetches; the others wait and read its token.
            epoch = datetime(1970, 1, 1, tzinfo=utcnow().tzinfo)
            placeholder = {"app_key": app_key, "token": "", "expires_at": epoch, "fetched_at": epoch}
            await insert_ignoring_conflicts(session=session, table=AccessToken, rows=[placeholder], key=("app_key",))
            locked = select(AccessToken).where(AccessToken.app_key == app_key).with_for_update()
            row = (await session.exec(locked)).one()
            if row.token and self._fresh(row.token, row.expires_at, stale):
                await session.commit()
                return row.token, row.expires_at
            token, expires_in = await fetch()
            row.token, row.fetched_at = token, utcnow()
            row.expires_at = row.fetched_at + timedelta(seconds=expires_in)
            session.add(row)
            await session.commit()
            return row.token, row.expires_at
