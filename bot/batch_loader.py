"""Many concurrent look-ups by key answered by one query.

After a broadcast thousands of members answer within minutes, and 64 connections' handlers ask the
same question about different people at once. A `BatchLoader` collects the keys asked while the
previous query ran and asks for all of them in the next one: the database sees one query per moment,
not one per message."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(self, load: Callable[[list[K]], Awaitable[dict[K, V]]], *, missing: Callable[[], V],
                 name: str, concurrency: int = 2, max_keys: int = 1000) -> None:
        self._load = load
        self._missing = missing  # the answer for a key the query did not return
        self._name = name
        self._slots = concurrency
        self._max_keys = max_keys
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.queries = 0  # for metrics and tests
        self.keys = 0

    async def get(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._running < self._slots:
            self._running += 1
            # Started on the next turn of the loop, so the handlers woken together share the query.
            asyncio.get_running_loop().call_soon(self._start)
        return await future

    def _start(self) -> None:
        task = asyncio.ensure_future(self._flush())
        self._tasks.add(task)  # a task nobody references may be collected before it ends
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[: self._max_keys]
                futures = {key: self._waiting.pop(key) for key in keys}
                self.queries += 1
                self.keys += len(keys)
                try:
                    found = await self._load(keys)
                except Exception as exc:  # each waiting handler fails as its own query would have
                    log.exception("%s: batched look-up of %d keys failed", self._name, len(keys))
                    for waiters in futures.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                for key, waiters in futures.items():
                    value = found[key] if key in found else self._missing()
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(value)
        finally:
            self._running -= 1
