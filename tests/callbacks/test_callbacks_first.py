"""While a notice goes out, a member's 收到 must not wait behind the sending: the dispatcher of the same
process starts its next wave of requests only when no callback is being answered (or after a short while,
so a steady stream of callbacks slows the sending but never stops it)."""

import asyncio

from bot.callbacks.activity import CallbackActivity
from bot.keys import SERVICE
from tests.stack import Stack


async def test_the_next_wave_waits_for_the_callback_being_answered() -> None:
    activity = CallbackActivity()
    await activity.let_through()  # nothing in flight: no wait at all
    activity.enter()
    waiting = asyncio.ensure_future(activity.let_through(most=60))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not waiting.done()
    activity.leave()
    await asyncio.wait_for(waiting, 1)


async def test_a_steady_stream_of_callbacks_only_slows_the_sending() -> None:
    activity = CallbackActivity()
    activity.enter()
    await asyncio.wait_for(activity.let_through(most=0.001), 1)  # gave up waiting, did not hang
    assert activity.in_flight == 1


async def test_the_service_counts_the_callbacks_it_is_answering(stack: Stack) -> None:
    activity = stack.app[SERVICE].activity
    seen: list[int] = []
    original = stack.app[SERVICE]._handle

    async def spy(msg):  # type: ignore[no-untyped-def]
        seen.append(activity.in_flight)
        return await original(msg)

    stack.app[SERVICE]._handle = spy  # type: ignore[method-assign]
    await stack.phone("mp", "o_someone").send_text("帮助")
    assert seen == [1] and activity.in_flight == 0
