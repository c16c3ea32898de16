"""Forgiving parsers for the short answers of the 发通知 conversation. Each returns None for an
answer it does not understand, so the question can be asked again with a hint."""

import re
from datetime import date, datetime, time, timedelta, tzinfo

ALL_WORDS = ("全部", "所有", "都要", "all")
YES = ("是", "要", "需要", "好", "对", "y", "yes", "1")
NO = ("否", "不", "不要", "不需要", "不用", "n", "no", "2")
NO_DEADLINE = ("无", "没有", "不是", "否", "不", "无截止", "none")
_NUMBER_LIST = re.compile(r"^\d+(?:[\s,;、]+\d+)*$")
_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAYS_LATER = re.compile(r"^(\d{1,3})\s*(天|日|周|星期|个星期)[以之]?后$")
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
# A month-day without a year that passed this long ago means next year; more recent: a mistake.
_ROLL_OVER = timedelta(days=60)


def numbers(text: str, count: int) -> list[int] | None:
    """"1", "1 3", "1,3", "1、3" or "全部" → 1-based choices within 1..count, in order, unique."""
    if text.lower() in ALL_WORDS:
        return list(range(1, count + 1))
    if not _NUMBER_LIST.match(text):
        return None
    picked = [int(n) for n in re.findall(r"\d+", text)]
    if not picked or any(not 1 <= n <= count for n in picked):
        return None
    return sorted(set(picked))


def yes_no(text: str) -> bool | None:
    lowered = text.lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    return None


class PastDate(ValueError):
    """The deadline lies before today."""


def deadline(text: str, today: date) -> date | None:
    """The deadline day, or None if not understood. Raises PastDate for a day before today."""
    text = text.replace(" ", "")
    day: date | None = None
    if text in _RELATIVE:
        day = today + timedelta(days=_RELATIVE[text])
    elif m := _DAYS_LATER.match(text):
        weeks = m.group(2) != "天" and m.group(2) != "日"
        day = today + timedelta(days=int(m.group(1)) * (7 if weeks else 1))
    elif m := _FULL_DATE.match(text):
        day = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _MONTH_DAY.match(text):
        day = _date(today.year, int(m.group(1)), int(m.group(2)))
        if day is not None and today - day > _ROLL_OVER:
            day = _date(today.year + 1, day.month, day.day)
    if day is not None and day < today:
        raise PastDate(day.isoformat())
    return day


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def end_of_day(day: date, tz: tzinfo | None) -> datetime:
    """A task is due by the end of its day, in the service's time zone."""
    return datetime.combine(day, time(23, 59), tzinfo=tz)
