"""A normal notice written late at night waits for the morning; an urgent one goes at once."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.quiet_hours import in_quiet_hours, not_before

SH = ZoneInfo("Asia/Shanghai")
WINDOW = (time(21, 30), time(7, 30))


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(21, 29, False), (21, 30, True), (23, 59, True), (0, 0, True), (7, 29, True), (7, 30, False), (12, 0, False)],
)
def test_the_window_spans_midnight(hour: int, minute: int, expected: bool) -> None:
    assert in_quiet_hours(datetime(2026, 11, 23, hour, minute, tzinfo=SH), WINDOW) is expected


def test_late_evening_waits_for_tomorrow_morning_and_small_hours_for_this_morning() -> None:
    assert not_before(datetime(2026, 11, 23, 22, 5, tzinfo=SH), WINDOW, urgent=False) == datetime(
        2026, 11, 24, 7, 30, tzinfo=SH
    )
    assert not_before(datetime(2026, 11, 24, 3, 0, tzinfo=SH), WINDOW, urgent=False) == datetime(
        2026, 11, 24, 7, 30, tzinfo=SH
    )


def test_urgent_daytime_and_no_window_go_at_once() -> None:
    late = datetime(2026, 11, 23, 23, 0, tzinfo=SH)
    assert not_before(late, WINDOW, urgent=True) == late
    assert not_before(late, None, urgent=False) == late
    noon = datetime(2026, 11, 23, 12, 0, tzinfo=SH)
    assert not_before(noon, WINDOW, urgent=False) == noon
