"""All stored timestamps are timezone-aware UTC (SQLModel's UTCDateTime refuses naive ones)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | str) -> datetime:
    """A timestamp read back from an aggregate (min, max): SQLite hands it over as text without the
    column's type processing, and without a time zone; both are UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
