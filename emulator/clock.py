"""The emulator's controllable clock: real time plus an offset that tests can advance."""

import time

BEIJING_OFFSET = 8 * 3600


class Clock:
    """`now()` is wall-clock time shifted by everything passed to `advance()`."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        """Move the emulated time forward (never backwards) and return the new `now()`."""
        if seconds < 0:
            raise ValueError("时钟只能向前拨")
        self.offset += seconds
        return self.now()

    def day(self) -> int:
        """Number of the current day in Beijing time: daily quotas reset at midnight there."""
        return int((self.now() + BEIJING_OFFSET) // 86400)
