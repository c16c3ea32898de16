"""All stored timestamps are timezone-aware UTC (SQLModel's UTCDateTime refuses naive ones)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
