"""Working days by the Chinese calendar (weekends, public holidays and the 调休 Saturdays that are worked),
for deadlines, reminders and escalations."""

from datetime import date, datetime, time, timedelta

import chinese_calendar

# A message that arrives on a day off is taken up the next working morning.
WORKDAY_START = time(9, 0)


def is_workday(day: date) -> bool:
    """The Chinese calendar's answer; for a year it does not know yet (the State Council publishes the
    holidays each November), Monday to Friday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def previous_workday(day: date) -> date:
    """The last working day before `day`."""
    candidate = day - timedelta(days=1)
    while not is_workday(candidate):
        candidate -= timedelta(days=1)
    return candidate


def next_workday(day: date) -> date:
    """The first working day after `day`."""
    candidate = day + timedelta(days=1)
    while not is_workday(candidate):
        candidate += timedelta(days=1)
    return candidate


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
