"""Handlers that need not wait finish in the caller's task; those that wait behave like a Task."""

import asyncio

import pytest

from bot.callbacks.eager import start_eagerly


async def test_a_coroutine_that_never_waits_is_done_at_once() -> None:
    async def quick() -> int:
        return 42

    future = start_eagerly(quick())
    assert future.done() and future.result() == 42


async def test_a_coroutine_that_waits_runs_on_to_its_result() -> None:
    steps: list[str] = []

    async def slow() -> str:
        steps.append("start")
        await asyncio.sleep(0.01)
        steps.append("after sleep")
        await asyncio.sleep(0)
        return "done"

    future = start_eagerly(slow())
    assert steps == ["start"] and not future.done()
    assert await future == "done" and steps == ["start", "after sleep"]


async def test_errors_and_cancellation_reach_the_caller() -> None:
    async def broken() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        await start_eagerly(broken())

    async def late() -> None:
        await asyncio.sleep(0)
        raise KeyError("late")

    with pytest.raises(KeyError):
        await start_eagerly(late())

    cleaned: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append(True)

    future = start_eagerly(forever())
    await asyncio.sleep(0)
    future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await future
    assert cleaned == [True]
