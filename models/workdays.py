"""Working days by the Chinese calendar (weekends, public holidays and the 调休 Saturdays that are worked),
for deadlines, reminders, escalations and meeting dates."""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

import chinese_calendar

# chinese_calendar's names of the statutory holidays, as a secretary reads them.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


class WorkCalendar:
    """Working days from the days loaded for a year (models/official_days.py), else the
    `chinese_calendar` package, else — a year neither knows — Monday to Friday (`knows` says so)."""

    def __init__(self, official: Mapping[date, tuple[bool, str]] | None = None) -> None:
        self._official = dict(official or {})
        self._loaded_years = {d.year for d in self._official}

    def knows(self, year: int) -> bool:
        """Whether the year's holidays are known (loaded or in the package)."""
        if year in self._loaded_years:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> bool:
        if day.year in self._loaded_years:
            found = self._official.get(day)
            return found[0] if found is not None else day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def holiday(self, day: date) -> str | None:
        """The statutory holiday `day` is a day off of (春节, 国庆节…), or None (a working day, an
        ordinary weekend, or a year not known)."""
        if day.year in self._loaded_years:
            found = self._official.get(day)
            return (found[1] or "法定节假日") if found is not None and not found[0] else None
        try:
            off, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return HOLIDAY_NAMES.get(name, name) if off and name else None

    def next_workday(self, day: date) -> date:
        """The first working day after `day`."""
        candidate = day + timedelta(days=1)
        while not self.is_workday(candidate):
            candidate += timedelta(days=1)
        return candidate

    def previous_workday(self, day: date) -> date:
        """The last working day before `day`."""
        candidate = day - timedelta(days=1)
        while not self.is_workday(candidate):
            candidate -= timedelta(days=1)
        return candidate


_PACKAGE_ONLY = WorkCalendar()

# A message that arrives on a day off is taken up the next working morning.
WORKDAY_START = time(9, 0)


def is_workday(day: date) -> bool:
    """The package's answer; for a year it does not know yet (the State Council publishes the holidays
    each November), Monday to Friday."""
    return _PACKAGE_ONLY.is_workday(day)


def previous_workday(day: date) -> date:
    return _PACKAGE_ONLY.previous_workday(day)


def next_workday(day: date) -> date:
    return _PACKAGE_ONLY.next_workday(day)


def after_workdays(moment: datetime, days: int) -> datetime:
    """`days` working days after `moment` (aware, local), at the same time of day: Friday 15:00 plus 2
    is Tuesday 15:00. A moment on a day off counts from the next working day's 09:00."""
    day = moment.date()
    if not is_workday(day):
        day = next_workday(day)
        moment = datetime.combine(day, WORKDAY_START, tzinfo=moment.tzinfo)
    for _ in range(days):
        day = next_workday(day)
    return datetime.combine(day, moment.timetz())
