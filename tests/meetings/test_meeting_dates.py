"""When a series' meetings fall: monthly on a day, the n-th weekday, quarterly, yearly, until a date;
and what a statutory holiday does to them — moved to the next working day (counting 调休 Saturdays), the
previous one, or kept — and what is said for a year whose holidays are not known yet."""

from datetime import date

import pytest

from models.meeting_dates import Every, HolidayPolicy, Repeat, place, plan_series, series_dates, unknown_years
from models.official_days import parse_official_days
from models.workdays import WorkCalendar

PACKAGE = WorkCalendar()


def test_a_monthly_party_day_on_the_15th_until_june() -> None:
    dates = series_dates(date(2026, 12, 15), Repeat(Every.month, day=15, until=date(2027, 6, 30)))
    assert dates == [date(2026, 12, 15)] + [date(2027, m, 15) for m in range(1, 7)]


def test_the_third_tuesday_and_the_last_friday_of_the_month() -> None:
    third_tuesday = series_dates(date(2026, 12, 1), Repeat(Every.month, weekday=2, nth=3), limit=3)
    assert third_tuesday == [date(2026, 12, 15), date(2027, 1, 19), date(2027, 2, 16)]
    last_friday = series_dates(date(2026, 12, 1), Repeat(Every.month, weekday=5, nth=-1), limit=3)
    assert last_friday == [date(2026, 12, 25), date(2027, 1, 29), date(2027, 2, 26)]


def test_the_31st_is_the_last_day_of_a_shorter_month_and_a_start_after_the_day_begins_next_month() -> None:
    assert series_dates(date(2027, 1, 31), Repeat(Every.month, day=31), limit=3) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]
    assert series_dates(date(2026, 12, 20), Repeat(Every.month, day=15), limit=2) == [
        date(2027, 1, 15), date(2027, 2, 15)]


def test_quarterly_and_yearly_series_keep_the_first_meetings_month() -> None:
    assert series_dates(date(2026, 1, 10), Repeat(Every.quarter), limit=4) == [
        date(2026, 1, 10), date(2026, 4, 10), date(2026, 7, 10), date(2026, 10, 10)]
    assert series_dates(date(2026, 6, 30), Repeat(Every.year, until=date(2028, 12, 31))) == [
        date(2026, 6, 30), date(2027, 6, 30), date(2028, 6, 30)]


def test_a_one_off_meeting_is_its_own_date() -> None:
    assert series_dates(date(2026, 12, 28), None) == [date(2026, 12, 28)]


@pytest.mark.parametrize(("repeat", "problem"), [
    (Repeat(Every.month, day=32), "日期应在 1 到 31 之间"),
    (Repeat(Every.month, weekday=2), "按星期重复时需同时给出星期几（weekday）和第几个（nth）"),
    (Repeat(Every.month, weekday=8, nth=1), "星期应在 1（周一）到 7（周日）之间"),
    (Repeat(Every.month, weekday=1, nth=5), "第几个星期应为 1 到 4，或 -1（最后一个）"),
])
def test_a_repeat_that_makes_no_sense_is_explained(repeat: Repeat, problem: str) -> None:
    assert problem in repeat.problems()


def test_series_read_as_secretaries_say_them() -> None:
    assert Repeat(Every.month, day=15).describe() == "每月15日"
    assert Repeat(Every.month, weekday=2, nth=3).describe() == "每月第三个星期二"
    assert Repeat(Every.quarter, weekday=5, nth=-1, until=date(2027, 12, 31)).describe() == (
        "每季度最后一个星期五，至2027年12月31日")


def test_a_meeting_on_national_day_moves_to_the_next_working_day_or_the_previous_or_stays() -> None:
    moved = place(date(2026, 10, 1), HolidayPolicy.next_workday, PACKAGE)
    assert (moved.day, moved.moved_from, moved.holiday) == (date(2026, 10, 8), date(2026, 10, 1), "国庆节")
    assert moved.describe() == "10月1日（国庆节）顺延至10月8日"
    earlier = place(date(2026, 10, 1), HolidayPolicy.previous_workday, PACKAGE)
    assert earlier.day == date(2026, 9, 30) and earlier.describe() == "10月1日（国庆节）提前至9月30日"
    kept = place(date(2026, 10, 1), HolidayPolicy.keep, PACKAGE)
    assert kept.day == date(2026, 10, 1) and kept.describe() == "10月1日（国庆节，照常举行）"


def test_a_worked_saturday_of_the_spring_festival_counts_as_a_working_day() -> None:
    # 2026-02-14 was a Saturday worked in exchange (调休); the holiday ran from the 15th to the 23rd.
    assert place(date(2026, 2, 15), HolidayPolicy.previous_workday, PACKAGE).day == date(2026, 2, 14)
    assert place(date(2026, 2, 15), HolidayPolicy.next_workday, PACKAGE).day == date(2026, 2, 24)


def test_an_ordinary_weekend_is_not_a_holiday_and_keeps_its_date() -> None:
    assert place(date(2026, 11, 14), HolidayPolicy.next_workday, PACKAGE).moved_from is None


def test_a_year_whose_holidays_are_not_known_keeps_its_dates_and_says_so() -> None:
    placed = plan_series(date(2026, 12, 15), Repeat(Every.month, day=1, until=date(2027, 2, 1)),
                         HolidayPolicy.next_workday, PACKAGE)
    assert [p.day for p in placed] == [date(2027, 1, 1), date(2027, 2, 1)]  # 元旦 2027 not known: kept
    assert unknown_years(placed) == [2027]
    assert placed[0].describe() == "1月1日（2027年节假日安排尚未导入，未按节假日调整）"


def test_once_the_year_is_loaded_its_holidays_and_make_up_days_decide() -> None:
    loaded = parse_official_days("日期,类型,名称\n2027-01-01,休,元旦\n2027/2/6,休,春节\n2027年2月7日,班,春节\n")
    assert loaded.problems == []
    calendar = WorkCalendar(loaded.days)
    assert calendar.knows(2027) and calendar.is_workday(date(2027, 2, 7))  # a Sunday worked
    assert place(date(2027, 1, 1), HolidayPolicy.next_workday, calendar).day == date(2027, 1, 4)
    assert place(date(2027, 2, 6), HolidayPolicy.next_workday, calendar).day == date(2027, 2, 7)
    assert calendar.holiday(date(2027, 1, 2)) is None  # an ordinary Saturday
    assert calendar.is_workday(date(2026, 10, 8))  # other years still come from the package


def test_bad_rows_of_a_holiday_file_are_each_named() -> None:
    parsed = parse_official_days("2027-13-01,休,元旦\n2027-01-01,放假\n2027-01-01,休\n2027-01-04,班\n"
                                 "明年元旦,休\n2027-01-02,上课\n")
    assert parsed.problems == [
        "第 1 行：日期“2027-13-01”无法识别，请写成 2027-01-01",
        "第 3 行：2027-01-01 重复出现",
        "第 4 行：2027-01-04 本来就是工作日，无需标为调休上班",
        "第 5 行：日期“明年元旦”无法识别，请写成 2027-01-01",
        "第 6 行：类型“上课”无法识别，请写“休”（放假）或“班”（调休上班）",
    ]
    assert list(parsed.days) == [date(2027, 1, 1)]


def test_a_years_monthly_series_across_new_year_spring_festival_and_national_day() -> None:
    """主题党日 on the 1st of every month of 2026: New Year's Day moves to Sunday 4 January (a 调休 working
    day), Labour Day to 6 May, National Day to 8 October; an ordinary Sunday (1 February, 1 March)
    keeps its date. On the 15th: 15 February, in the Spring Festival, moves to the 24th."""
    placed = plan_series(date(2026, 1, 1), Repeat(Every.month, day=1, until=date(2026, 12, 31)),
                         HolidayPolicy.next_workday, PACKAGE)
    moved = {(p.moved_from, p.day, p.holiday) for p in placed if p.moved_from is not None}
    assert moved == {(date(2026, 1, 1), date(2026, 1, 4), "元旦"), (date(2026, 5, 1), date(2026, 5, 6), "劳动节"),
                     (date(2026, 10, 1), date(2026, 10, 8), "国庆节")}
    assert [p.day for p in placed][1:3] == [date(2026, 2, 1), date(2026, 3, 1)]
    on_the_15th = plan_series(date(2026, 1, 15), Repeat(Every.month, day=15, until=date(2026, 3, 31)),
                              HolidayPolicy.next_workday, PACKAGE)
    assert [p.day for p in on_the_15th] == [date(2026, 1, 15), date(2026, 2, 24), date(2026, 3, 15)]
    assert on_the_15th[1].describe() == "2月15日（春节）顺延至2月24日"
