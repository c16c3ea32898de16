"""How many callbacks this process is answering at this moment, so that the outbox dispatcher of the same
process lets them go first.

Sending a notice keeps the event loop busy (each API call's request and answer are work on the loop), and a
member's 收到 that arrives meanwhile waits behind it; WeChat waits 5 s for the answer, a notice's next wave
can wait a few milliseconds. Before each wave the dispatcher waits until no callback is in flight, for at
most a short while, so a steady stream of callbacks slows the sending but never stops it."""

import asyncio


class CallbackActivity:
    def __init__(self) -> None:
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight <= 0:
            self.in_flight = 0
            self._idle.set()

    async def let_through(self, most: float = 0.03) -> None:
        """Returns when no callback is in flight, or after `most` seconds."""
        if self.in_flight == 0:
            return
        try:
            await asyncio.wait_for(self._idle.wait(), most)
        except TimeoutError:
            pass
