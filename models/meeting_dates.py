"""The dates of a meeting series (monthly on a day, the n-th weekday of the month, quarterly, yearly,
until a date) and where each one lands on the Chinese calendar: a date on a statutory holiday follows
the series' policy — the next working day (default), the previous one, or kept — counting 调休 make-up
days as working days (models/workdays.py `WorkCalendar`)."""

import calendar as gregorian
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.workdays import WorkCalendar

MAX_OCCURRENCES = 60  # five years of a monthly series: a longer one is created again later


class HolidayPolicy(StrEnum):
    next_workday = "next_workday"
    previous_workday = "previous_workday"
    keep = "keep"


class Every(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


_MONTHS = {Every.month: 1, Every.quarter: 3, Every.year: 12}
_PERIOD_WORDS = {Every.month: "每月", Every.quarter: "每季度", Every.year: "每年"}
WEEKDAY_WORDS = "一二三四五六日"


@dataclass(frozen=True, slots=True)
class Repeat:
    """How a series repeats: on `day` of the month (clamped to the month's last day), or on the `nth`
    (1–4, or -1 for the last) `weekday` (1 = Monday … 7 = Sunday); in the first meeting's month of each
    quarter or year. Neither: the first meeting's day of the month."""

    every: Every
    day: int | None = None
    weekday: int | None = None
    nth: int | None = None
    until: date | None = None

    def problems(self) -> list[str]:
        found = []
        if self.day is not None and not 1 <= self.day <= 31:
            found.append("日期应在 1 到 31 之间")
        if (self.weekday is None) != (self.nth is None):
            found.append("按星期重复时需同时给出星期几（weekday）和第几个（nth）")
        if self.weekday is not None and not 1 <= self.weekday <= 7:
            found.append("星期应在 1（周一）到 7（周日）之间")
        if self.nth is not None and self.nth not in (1, 2, 3, 4, -1):
            found.append("第几个星期应为 1 到 4，或 -1（最后一个）")
        if self.day is not None and self.weekday is not None:
            found.append("按日期或按星期重复，只能选一种")
        return found

    def describe(self) -> str:
        """每月15日 · 每月第三个星期二 · 每季度最后一个星期五."""
        period = _PERIOD_WORDS[self.every]
        if self.weekday is not None and self.nth is not None:
            which = "最后一个" if self.nth == -1 else f"第{'一二三四'[self.nth - 1]}个"
            text = f"{period}{which}星期{WEEKDAY_WORDS[self.weekday - 1]}"
        else:
            text = f"{period}{self.day}日" if self.day else period
        return text + (f"，至{self.until.year}年{self.until.month}月{self.until.day}日" if self.until else "")


def _in_month(year: int, month: int, first: date, repeat: Repeat) -> date:
    last = gregorian.monthrange(year, month)[1]
    if repeat.weekday is not None and repeat.nth is not None:
        weekday = repeat.weekday - 1
        if repeat.nth == -1:
            day = last - (date(year, month, last).weekday() - weekday) % 7
        else:
            day = 1 + (weekday - date(year, month, 1).weekday()) % 7 + 7 * (repeat.nth - 1)
        return date(year, month, day)
    return date(year, month, min(repeat.day or first.day, last))


def series_dates(first: date, repeat: Repeat | None, *, limit: int = MAX_OCCURRENCES) -> list[date]:
    """The series' dates from `first` on (the first matching date on or after it), until `repeat.until`,
    at most `limit` of them; one-off: [first]."""
    if repeat is None:
        return [first]
    step = _MONTHS[repeat.every]
    found: list[date] = []
    index = first.year * 12 + first.month - 1
    while len(found) < limit:
        day = _in_month(index // 12, index % 12 + 1, first, repeat)
        index += step
        if repeat.until is not None and day > repeat.until:
            break
        if day >= first:
            found.append(day)
    return found


@dataclass(frozen=True, slots=True)
class PlacedDate:
    day: date  # when the meeting is held
    moved_from: date | None  # the series' own date, when the holiday moved it
    holiday: str | None  # the statutory holiday of the series' date (moved or kept)
    calendar_known: bool  # False: the year's holidays are not known, nothing was moved

    def describe(self) -> str:
        """For the preview: 10月1日（国庆节）顺延至10月8日 · 2027年的节假日尚未公布…"""
        shown = _short(self.day)
        if self.moved_from is not None:
            direction = "顺延" if self.day > self.moved_from else "提前"
            return f"{_short(self.moved_from)}（{self.holiday}）{direction}至{shown}"
        if self.holiday:
            return f"{shown}（{self.holiday}，照常举行）"
        if not self.calendar_known:
            return f"{shown}（{self.day.year}年节假日安排尚未导入，未按节假日调整）"
        return shown


def _short(day: date) -> str:
    return f"{day.month}月{day.day}日"


def place(day: date, policy: HolidayPolicy, work_calendar: WorkCalendar) -> PlacedDate:
    known = work_calendar.knows(day.year)
    holiday = work_calendar.holiday(day)
    if holiday is None or policy == HolidayPolicy.keep:
        return PlacedDate(day, None, holiday, known)
    moved = (work_calendar.next_workday(day) if policy == HolidayPolicy.next_workday
             else work_calendar.previous_workday(day))
    return PlacedDate(moved, day, holiday, known)


def plan_series(first: date, repeat: Repeat | None, policy: HolidayPolicy, work_calendar: WorkCalendar,
                *, limit: int = MAX_OCCURRENCES) -> list[PlacedDate]:
    return [place(day, policy, work_calendar) for day in series_dates(first, repeat, limit=limit)]


def unknown_years(placed: list[PlacedDate]) -> list[int]:
    """The years whose holidays are not known: the answer says so, and the administrators are told."""
    return sorted({p.day.year for p in placed if not p.calendar_known})
