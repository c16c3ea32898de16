"""Start a coroutine in the caller's task and make a Task of it only if it has to wait.

Most callbacks (help, an unknown text, a cached sender) finish without ever suspending; creating a Task
and waiting on it would cost more than the handler itself on that path. Python 3.12's eager task
factory does the same thing; on 3.11 we drive the first step by hand."""

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


class _Resume:
    """Awaitable that carries on a coroutine already suspended at `yielded`, step by step, so the Task
    running it waits on exactly the futures the coroutine waits on."""

    __slots__ = ("_coro", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self._coro, self._yielded
        while True:
            try:
                sent = yield yielded
            except BaseException as exc:  # thrown in by the Task: cancellation, for one
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
                continue
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value


async def _drive(resume: _Resume) -> Any:
    return await resume


def start_eagerly(coro: Coroutine[Any, Any, T]) -> "asyncio.Future[T]":
    """A future with the coroutine's result: already done if it finished without suspending."""
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        done.set_result(stop.value)
        return done
    except BaseException as exc:
        failed: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        return failed
    return asyncio.get_running_loop().create_task(_drive(_Resume(coro, yielded)))
