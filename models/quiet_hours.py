"""Quiet hours (default 21:30–07:30 Asia/Shanghai): non-urgent messages wait until they end."""

from datetime import datetime, time, timedelta


def in_quiet_hours(local: datetime, window: tuple[time, time] | None) -> bool:
    if window is None:
        return False
    start, end = window
    now = local.time()
    return (start <= now or now < end) if start > end else (start <= now < end)


def not_before(local: datetime, window: tuple[time, time] | None, *, urgent: bool) -> datetime:
    """When a message composed at `local` (aware) may go out: now, or the end of the quiet hours."""
    if urgent or not in_quiet_hours(local, window):
        return local
    assert window is not None
    end = window[1]
    morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return morning if morning > local else morning + timedelta(days=1)
