"""Who is who, in memory: the callback hot path asks the database nothing about its sender.

The whole directory (every identity, every person who has one or whose WeCom account is on the roster)
is loaded at start and kept current
from the change log (models/directory_version.py), polled every `poll_interval` seconds: another
instance's change reaches this one within that bound, and only what changed is read again. A sender
this process has not seen is a miss in memory, not a query: a stranger costs a dict lookup. Because a
follower may have been created by another instance a moment ago, a miss polls the log once first,
shared by every miss within `miss_refresh` seconds: a change committed more than `miss_refresh`
seconds before a message is always seen by it (0: every change committed before it). This process's
own changes (`forget`) are read back from the database on the sender's next message; what it wrote
through the inbound log's batch (`learn`) it knows without reading."""

import asyncio
import logging
import time

from bot.db import SessionFactory
from models.directory import (
    Changes,
    IdentityEntry,
    IdentityKey,
    PersonEntry,
    SenderProfile,
    changes_since,
    load_identities,
    load_people,
    load_sender,
    profile_of,
    read_directory_version,
)
from models.identity import Platform

log = logging.getLogger(__name__)
Key = tuple[Platform, str, str]


class DirectoryCache:
    def __init__(self, session_factory: SessionFactory, *, poll_interval: float = 1.0, miss_refresh: float = 0.05):
        self._sessions = session_factory
        self._poll_interval = poll_interval
        self._miss_refresh = miss_refresh
        self._identities: dict[IdentityKey, IdentityEntry] = {}
        self._people: dict[int, PersonEntry] = {}
        self._work_users: dict[str, int] = {}  # the roster's WeCom accounts → person ids
        self._dirty: set[Key] = set()  # changed by this process: read back on the next message
        self._version = -1
        self._polled_at = 0.0  # when the last completed poll began: what it read is at least that fresh
        self._polling: asyncio.Future[None] | None = None
        self._polling_since = 0.0
        self._learned: dict[Key, tuple[int, int, PersonEntry]] | None = None
        # Identities this process wrote itself, with the version the write logged: a poll that finds
        # exactly that change of the identity knows it already (a first-contact burst would otherwise
        # read back every member it just bound, on the path of the next strangers' misses).
        self._echoes: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        # Figures for /metrics.
        self.hits = 0
        self.misses = 0  # not in the directory: a stranger, or a follower not seen yet
        self.reads = 0  # senders read back from the database
        self.full_loads = 0
        self.partial_loads = 0
        self.own_changes = 0  # changes in the log this process wrote and knew: not read back

    @property
    def size(self) -> tuple[int, int]:
        """(identities, people) held."""
        return len(self._identities), len(self._people)

    async def start(self) -> None:
        await self._load_everything()
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
        if key in self._dirty:
            return await self.load(key)
        identity = self._identities.get(key)
        if identity is None:
            await self._refresh_for_miss()
            identity = self._identities.get(key)
            if identity is None:
                self.misses += 1
                return profile_of(None, None)
        self.hits += 1
        person_id = identity[2]
        return profile_of(identity, self._people.get(person_id) if person_id is not None else None)

    def work_user(self, userid: str) -> tuple[int, PersonEntry] | None:
        """The roster's person with this WeCom account (id and profile), bound or not. Asked after `get`
        missed the sender, so as fresh as a miss (a roster import changes everything: read at the poll)."""
        person_id = self._work_users.get(userid)
        person = self._people.get(person_id) if person_id is not None else None
        return None if person_id is None or person is None else (person_id, person)

    async def load(self, key: Key) -> SenderProfile:
        """The sender as the database has them now (after this process changed them)."""
        self.reads += 1
        self._dirty.discard(key)
        async with self._sessions() as session:
            identity, person = await load_sender(session=session, platform=key[0], app_id=key[1],
                                                 external_id=key[2])
        if identity is None:
            self._identities.pop(key, None)
        else:
            self._identities[key] = identity
            if identity[2] is not None and person is not None:
                self._put_person(identity[2], person)
        return profile_of(identity, person)

    def learn(self, key: Key, identity_id: int, person_id: int, person: PersonEntry,
              version: int | None = None) -> None:
        """A following identity bound to a person that this process just wrote itself (a member bound on
        first contact) and logged as changed at `version`, so that their next message needs no read;
        other processes learn it from the change log."""
        self._dirty.discard(key)
        if version is not None and version > self._version:
            self._echoes[identity_id] = version
        self._identities[key] = (identity_id, True, person_id)
        self._put_person(person_id, person)
        if self._learned is not None:
            self._learned[key] = (identity_id, person_id, person)

    def forget(self, key: Key) -> None:
        self._dirty.add(key)

    def clear(self) -> None:
        """Reads everything again at the next poll."""
        self._version = -1

    async def refresh_version(self) -> None:
        """Applies what changed since the last poll (everything, after `clear` or a pruned log)."""
        if self._version < 0:
            await self._load_everything()
            return
        identities: dict[IdentityKey, IdentityEntry] = {}
        people: dict[int, PersonEntry] = {}
        person_ids: set[int] = set()
        changed: set[int] = set()  # the identities to read again
        began = time.monotonic()
        async with self._sessions() as session:
            changes = await changes_since(session=session, version=self._version)
            if not changes.everything and changes.version > self._version:
                own = self._own_changes(changes)
                self.own_changes += len(own)
                changed = changes.identity_ids - own
                identities = await load_identities(session=session, ids=changed) if changed else {}
                # The people of changed identities are read too (a binding names both; a test may not).
                person_ids = changes.person_ids | {e[2] for e in identities.values() if e[2] is not None}
                people = await load_people(session=session, ids=person_ids) if person_ids else {}
        self._polled_at = began
        if changes.everything:
            await self._load_everything()
            return
        if changes.version <= self._version:
            return
        self.partial_loads += 1
        self._forget_echoes(changes.version)
        gone = changed - {e[0] for e in identities.values()}
        if gone:  # deleted identities
            for key in [k for k, e in self._identities.items() if e[0] in gone]:
                del self._identities[key]
        self._identities.update(identities)
        for person_id in person_ids:
            if person_id in people:
                self._put_person(person_id, people[person_id])
            else:
                self._drop_person(person_id)
        self._version = changes.version

    def _own_changes(self, changes: Changes) -> set[int]:
        """The changed identities whose only change in `changes` is one this process wrote and knows."""
        echoes = self._echoes
        return {i for i in changes.identity_ids
                if (v := echoes.get(i)) is not None and changes.identity_versions.get(i) == [v]}

    def _forget_echoes(self, version: int) -> None:
        self._echoes = {i: v for i, v in self._echoes.items() if v > version}

    def _put_person(self, person_id: int, person: PersonEntry) -> None:
        self._drop_person(person_id)
        self._people[person_id] = person
        if person.work_userid:
            self._work_users[person.work_userid] = person_id

    def _drop_person(self, person_id: int) -> None:
        old = self._people.pop(person_id, None)
        if old is not None and old.work_userid and self._work_users.get(old.work_userid) == person_id:
            del self._work_users[old.work_userid]

    async def _load_everything(self) -> None:
        started = time.monotonic()
        self._learned = {}  # what `learn` is told while the load runs may be newer than what it reads
        try:
            async with self._sessions() as session:
                version = await read_directory_version(session=session)
                identities = await load_identities(session=session)
                people = await load_people(session=session)
        finally:
            learned, self._learned = self._learned, None
        for key, (identity_id, person_id, person) in learned.items():
            identities[key] = (identity_id, True, person_id)
            people[person_id] = person
        self._identities, self._people, self._version = identities, people, version
        self._forget_echoes(version)
        self._work_users = {p.work_userid: person_id for person_id, p in people.items() if p.work_userid}
        self._polled_at = started
        self.full_loads += 1
        log.info("directory: %d identities, %d people loaded in %.2f s (version %d)",
                 len(identities), len(people), time.monotonic() - started, version)

    async def _refresh_for_miss(self) -> None:
        fresh_enough = time.monotonic() - self._miss_refresh
        try:
            # A poll that began before that moment may have read the log before the sender's identity
            # was committed: then another one.
            while self._polled_at < fresh_enough:
                await self._single_flight(began_by=fresh_enough)
        except Exception:  # the sender is then treated as unknown; the next poll tries again
            log.exception("directory poll for a miss failed")

    async def _single_flight(self, began_by: float = 0.0) -> None:
        """Concurrent misses and the timer share one poll of the log, one at a time. A miss needs one
        that began at `began_by` or later: it waits for an older one to end, and `_refresh_for_miss`
        asks again."""
        polling = self._polling
        if polling is not None and not polling.done() and self._polling_since < began_by:
            await asyncio.shield(polling)
            return
        if polling is None or polling.done():
            self._polling_since = time.monotonic()
            self._polling = polling = asyncio.ensure_future(self.refresh_version())
        await asyncio.shield(polling)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self._single_flight()
            except Exception:  # a database hiccup must not stop the polling
                log.exception("directory poll failed; reading everything again next time")
                self.clear()
