"""Held endpoints: calls to them wait, received but unanswered, until the endpoint is released. A
test uses it to stop the world at a chosen moment, "the requests are in flight", and to count them."""

import asyncio
from collections import Counter


class CallHolds:
    def __init__(self) -> None:
        self._gates: dict[str, asyncio.Event] = {}
        self.waiting: Counter[str] = Counter()  # endpoint -> calls waiting at it now

    def hold(self, endpoint: str) -> None:
        """Calls whose path ends with `endpoint` wait from now on."""
        self._gates.setdefault(endpoint.strip("/"), asyncio.Event())

    def release(self, endpoint: str | None = None) -> None:
        """The waiting calls (of one endpoint, or all) go on, and later ones no longer wait."""
        for name in [endpoint.strip("/")] if endpoint else list(self._gates):
            gate = self._gates.pop(name, None)
            if gate is not None:
                gate.set()

    def count(self, endpoint: str | None = None) -> int:
        return sum(n for name, n in self.waiting.items() if endpoint is None or name == endpoint.strip("/"))

    async def pass_through(self, path: str) -> None:
        """Returns when no hold applies to `path` any more."""
        for name, gate in list(self._gates.items()):
            if path.strip("/").endswith(name):
                self.waiting[name] += 1
                try:
                    await gate.wait()
                finally:
                    self.waiting[name] -= 1
