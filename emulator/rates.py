"""Counters behind the platform limits: sliding windows and daily quotas."""

from collections import deque


class SlidingWindow:
    """Counts events in the last `seconds`, per key."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._events: dict[str, deque[float]] = {}

    def count(self, key: str, now: float) -> int:
        events = self._events.get(key)
        if not events:
            return 0
        while events and events[0] <= now - self.seconds:
            events.popleft()
        return len(events)

    def add(self, key: str, now: float) -> None:
        self._events.setdefault(key, deque()).append(now)

    def clear(self) -> None:
        self._events.clear()


class DailyCounter:
    """Counts per key and per day; a new day starts from zero."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    def count(self, key: str, day: int) -> int:
        return self._counts.get((key, day), 0)

    def add(self, key: str, day: int) -> int:
        value = self._counts.get((key, day), 0) + 1
        self._counts[(key, day)] = value
        return value

    def clear(self) -> None:
        self._counts.clear()
