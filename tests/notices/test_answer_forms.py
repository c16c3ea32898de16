"""The forms the 发通知 conversation understands, as secretaries write them: one table per question."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.notices import CANCEL_WORDS, CONFIRM_WORDS, parsing
from models.notice import Who

TODAY = date(2026, 12, 2)  # a Wednesday
ORGS = [["阳光社区", "C01"], ["阳光社区第一党支部", "B01"], ["和平社区", "C02"]]
WHO = [[w.value] for w in Who]


@pytest.mark.parametrize(("text", "picked"), [
    ("1 3", [1, 3]), ("全部", [1, 2, 3]), ("阳光社区", [1]), ("C02", [3]), ("c02", [3]), ("和平", [3]),
    ("阳光社区、和平社区", [1, 3]), ("第一党支部", [2]), ("阳光", None), ("星光社区", None),
])
def test_organisations_by_number_name_code_or_a_unique_part(text: str, picked: list[int] | None) -> None:
    assert (parsing.numbers(text, len(ORGS)) or parsing.by_names(text, ORGS)) == picked


@pytest.mark.parametrize(("text", "picked"), [
    ("党员", [1]), ("书记", [4]), ("党员和书记", [1, 4]), ("居民、驻区单位代表", [2, 3]), ("流动党员", [5]),
    ("全体党员", [1]), ("各支部书记", [4]), ("群众", None),
])
def test_who_by_names_and_combinations(text: str, picked: list[int] | None) -> None:
    assert parsing.by_names(text, WHO) == picked


@pytest.mark.parametrize(("text", "answer"), [
    ("是", True), ("是的", True), ("好的", True), ("要", True), ("需要的", True), ("嗯", True), ("可以", True),
    ("否", False), ("不用", False), ("不用了", False), ("不需要", False), ("不要了", False), ("随便", None),
])
def test_yes_and_no_in_words(text: str, answer: bool | None) -> None:
    assert parsing.yes_no(text) == answer


@pytest.mark.parametrize(("text", "answer"), [
    ("1", False), ("普通", False), ("不急", False), ("不紧急。", False), ("一般", False),
    ("2", True), ("紧急", True), ("急", True), ("加急！", True), ("很急", True), ("特急", True),
    ("看情况", None), ("3", None),
])
def test_urgency_in_words(text: str, answer: bool | None) -> None:
    assert parsing.urgent(text) == answer


@pytest.mark.parametrize(("text", "day"), [
    ("明天", date(2026, 12, 3)), ("后天", date(2026, 12, 4)), ("3天后", date(2026, 12, 5)),
    ("2周后", date(2026, 12, 16)), ("本周五", date(2026, 12, 4)), ("周五", date(2026, 12, 4)),
    ("这周五前", date(2026, 12, 4)), ("星期日", date(2026, 12, 6)), ("下周一", date(2026, 12, 7)),
    ("下个星期三", date(2026, 12, 9)), ("12月4日", date(2026, 12, 4)), ("2026-12-31", date(2026, 12, 31)),
    ("1月5日", date(2027, 1, 5)), ("下礼拜五", date(2026, 12, 11)), ("大概下周", None),
])
def test_deadline_days_in_everyday_chinese(text: str, day: date | None) -> None:
    assert parsing.deadline(text, TODAY) == day


@pytest.mark.parametrize("text", ["本周一", "周二", "12月1日"])
def test_a_day_already_past_is_said_to_be_past(text: str) -> None:
    with pytest.raises(parsing.PastDate):
        parsing.deadline(text, TODAY)


@pytest.mark.parametrize("text", ["无", "没有", "不是任务", "不是任务，是通知", "只是通知"])
def test_no_deadline_in_words(text: str) -> None:
    assert parsing.flat(text) in parsing.NO_DEADLINE


@pytest.mark.parametrize(("text", "words"), [
    ("确认", CONFIRM_WORDS), ("好的，发吧", CONFIRM_WORDS), ("发吧！", CONFIRM_WORDS), ("没问题", CONFIRM_WORDS),
    ("取消", CANCEL_WORDS), ("算了不发了", CANCEL_WORDS), ("算了，不发了。", CANCEL_WORDS), ("先不发", CANCEL_WORDS),
])
def test_confirm_and_cancel_as_people_say_them(text: str, words: tuple[str, ...]) -> None:
    assert parsing.flat(text) in words


NOW = datetime(2026, 12, 2, 10, 15, tzinfo=ZoneInfo("Asia/Shanghai"))  # Wednesday morning


@pytest.mark.parametrize(("text", "moment"), [
    ("今天下午5点", (2026, 12, 2, 17, 0)),
    ("下午5点", (2026, 12, 2, 17, 0)),
    ("今晚8点前", (2026, 12, 2, 20, 0)),
    ("明天", (2026, 12, 3, 17, 30)),  # a day alone: the end of that working day
    ("明天上午9点半", (2026, 12, 3, 9, 30)),
    ("本周五", (2026, 12, 4, 17, 30)),
    ("下周一上午9点", (2026, 12, 7, 9, 0)),
    ("12月4日下午5点", (2026, 12, 4, 17, 0)),
    ("12月4日17:00", (2026, 12, 4, 17, 0)),
    ("12月4日 17：30", (2026, 12, 4, 17, 30)),
    ("3天后", (2026, 12, 5, 17, 30)),
    ("周五下午三点一刻之前", (2026, 12, 4, 15, 15)),
    ("明天中午12点", (2026, 12, 3, 12, 0)),
    ("明天十点", (2026, 12, 3, 10, 0)),
    ("下午25点", None),
    # Through jionlp's time parser: forms the tables do not hold.
    ("元旦前", (2027, 1, 1, 17, 30)),
    ("下个月5号", (2027, 1, 5, 17, 30)),
    ("十二月十日", (2026, 12, 10, 17, 30)),
    ("二〇二六年十二月十日", (2026, 12, 10, 17, 30)),
    ("圣诞节", (2026, 12, 25, 17, 30)),
    ("下周五下班前", (2026, 12, 11, 17, 30)),
    ("周五中午", (2026, 12, 4, 12, 0)),
    ("明天上午", (2026, 12, 3, 12, 0)),
    ("后天下午", (2026, 12, 4, 17, 30)),
    ("本月底", (2026, 12, 31, 17, 30)),
    ("年底前", (2026, 12, 31, 17, 30)),
    ("月底前", (2026, 12, 31, 17, 30)),
    ("下周", None),  # a week is no deadline
    ("随便", None),
])
def test_deadline_moments_in_everyday_chinese(text: str, moment: tuple[int, ...] | None) -> None:
    got = parsing.deadline_moment(text, NOW)
    assert (got.timetuple()[:5] if got else None) == moment
    if got is not None:
        assert got.tzinfo == NOW.tzinfo


@pytest.mark.parametrize("text", ["今天上午9点", "9点", "本周一下午3点"])
def test_a_moment_already_past_is_said_to_be_past(text: str) -> None:
    with pytest.raises(parsing.PastDate):
        parsing.deadline_moment(text, NOW)
