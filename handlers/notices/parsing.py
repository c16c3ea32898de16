"""Forgiving parsers for the short answers of the 发通知 conversation. Each returns None for an
answer it does not understand, so the question can be asked again with a hint."""

import contextlib
import io
import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from handlers.text import flat as flat  # the parsers compare answers flat

ALL_WORDS = ("全部", "所有", "都要", "全都", "都发", "all")
YES = ("是", "是的", "要", "要的", "需要", "需要的", "好", "好的", "对", "对的", "嗯", "可以", "y", "yes", "ok", "1")
NO = ("否", "不", "不要", "不需要", "不用", "不用了", "不要了", "不需要了", "没必要", "n", "no", "2")
NO_DEADLINE = ("无", "没有", "不是", "否", "不", "无截止", "没有截止", "不是任务", "不是任务是通知", "只是通知",
               "通知", "none")
# How urgent, as people say it (the menu's numbers too); anything else is asked again.
NORMAL = ("1", "普通", "一般", "正常", "不急", "不紧急", "不着急", "不是紧急", "不加急", "普通通知", "平常")
URGENT = ("2", "紧急", "急", "很急", "加急", "特急", "马上", "立即", "立刻", "紧急通知", "急件", "要紧急")
# Between the names of a list: "党员和书记", "阳光社区、和平社区", "党员 居民".
_NAME_SEPARATORS = re.compile(r"[\s,，、;；/]+|和|及|与|还有|以及")
_NUMBER_LIST = re.compile(r"^\d+(?:[\s,;、]+\d+)*$")
_FULL_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAYS_LATER = re.compile(r"^(\d{1,3})\s*(天|日|周|星期|个星期)[以之]?后$")
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2,
             "4": 3, "5": 4, "6": 5, "7": 6}
# 周五 / 星期五 / 礼拜五 / 本周五 / 这周五 / 下周一 / 下下周三
_WEEKDAY = re.compile(r"^(本|这|这个|下|下个|下下)?(?:周|星期|礼拜)([一二三四五六日天1-7])$")
# A month-day without a year that passed this long ago means next year; more recent: a mistake.
_ROLL_OVER = timedelta(days=60)
# A time of day at the end of a deadline: 下午5点, 17:00, 5点半, 上午九点一刻, 晚上8点.
_CN_DIGITS = "零一二三四五六七八九"
_CLOCK = re.compile(
    r"(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?([0-9]{1,2}|[零一二两三四五六七八九十]{1,3})"
    r"(?:[点时:：]|点钟)([0-9]{1,2}|[零一二三四五六七八九十]{1,3}|半|一刻|三刻)?分?$"
)
_EVENING = {"中午", "下午", "傍晚", "晚上"}
_SHORTHANDS = {"今晚": "今天晚上", "明晚": "明天晚上", "明早": "明天早上", "今早": "今天早上"}
# With no time given, a task is due at the end of that working day.
WORKDAY_END = time(17, 30)


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


def by_names(text: str, names: list[list[str]]) -> list[int] | None:
    """1-based choices named in words: each part of `text` is one choice's name or code (any of its
    `names`), or a part of exactly one choice's first name ("阳光" for 阳光社区). None when a part
    names nothing or more than one choice."""
    parts = [p for p in _NAME_SEPARATORS.split(text.strip()) if p]
    if not parts:
        return None
    picked: list[int] = []
    for part in parts:
        folded = part.lower()
        exact = [i for i, choice in enumerate(names, 1) if folded in (n.lower() for n in choice)]
        partial = [i for i, choice in enumerate(names, 1) if choice and folded in choice[0].lower()]
        # "全体党员", "各支部书记": the longest name the words contain.
        inside = [(len(choice[0]), i) for i, choice in enumerate(names, 1) if choice and choice[0].lower() in folded]
        longest = [i for n, i in inside if n == max(inside)[0]] if inside else []
        found = exact or partial or longest
        if len(found) != 1:
            return None
        picked.append(found[0])
    return sorted(set(picked))


def split_prefix(text: str, words: tuple[str, ...]) -> str | None:
    """The rest after one of `words` at the start ("下一级 2" → "2"), or None."""
    for word in words:
        if text.startswith(word):
            return text[len(word):].strip(" ：:，,　")
    return None


def yes_no(text: str) -> bool | None:
    lowered = flat(text)
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    return None


def urgent(text: str) -> bool | None:
    """True for 紧急, False for 普通, None when not understood."""
    lowered = flat(text)
    return True if lowered in URGENT else False if lowered in NORMAL else None


class PastDate(ValueError):
    """The deadline lies before today."""


def deadline(text: str, today: date) -> date | None:
    """The deadline day, or None if not understood. Raises PastDate for a day before today."""
    text = text.replace(" ", "")
    day: date | None = None
    text = _without_by(text)  # 本周五前 = by Friday
    if text in _RELATIVE:
        day = today + timedelta(days=_RELATIVE[text])
    elif m := _WEEKDAY.match(text):
        day = _weekday(today, m.group(1) or "", _WEEKDAYS[m.group(2)])
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


def _without_by(text: str) -> str:
    """本周五前 / 本周五之前 / 本周五以前 = by Friday."""
    for suffix in ("之前", "以前", "前"):
        if text.endswith(suffix):
            return text.removesuffix(suffix)
    return text


def _weekday(today: date, which: str, weekday: int) -> date:
    """本周五 / 周五: this week's (past → PastDate, said plainly); 下周一: next week's; 下下周三: the week after."""
    monday = today - timedelta(days=today.weekday())
    weeks = {"下": 1, "下个": 1, "下下": 2}.get(which, 0)
    return monday + timedelta(weeks=weeks, days=weekday)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def end_of_day(day: date, tz: tzinfo | None) -> datetime:
    """A task given a day only is due at the end of that working day, in the service's time zone."""
    return datetime.combine(day, WORKDAY_END, tzinfo=tz)


def deadline_moment(text: str, now: datetime) -> datetime | None:
    """The deadline as a moment in `now`'s time zone: a day (as `deadline`), a time of day, or both
    (`明天下午5点`, `12月4日17:00`, `下周一上午9点`, `下午5点` for today); a day alone means the end of
    that working day. None if not understood; PastDate for a moment already past."""
    text = text.replace(" ", "")
    for short, long in _SHORTHANDS.items():
        text = text.replace(short, long)
    text = _without_by(text)
    clock = clock_at(text)
    if clock is None:
        day = deadline(text, now.date())
        if day is None:
            return by_time_parser(text, now)
        return end_of_day(day, now.tzinfo)
    rest, at = clock
    day = deadline(rest, now.date()) if rest else now.date()
    if day is None:
        return by_time_parser(text, now)
    moment = datetime.combine(day, at, tzinfo=now.tzinfo)
    if moment <= now:
        raise PastDate(f"{day.isoformat()} {at:%H:%M}")
    return moment


_TIME_PARSER: Any = None
# 明天上午 / 周五下午 with no hour: due when that part of the day ends (下午: the end of the working day).
_PART_ENDS = {"凌晨": time(6, 0), "早上": time(9, 0), "早晨": time(9, 0), "上午": time(12, 0), "中午": time(12, 0),
              "下午": WORKDAY_END, "傍晚": time(18, 30), "晚上": time(21, 0)}


def load_time_parser() -> Any:
    """jionlp, imported on first use (its dictionaries take most of a second: the chat's deadline step
    loads it in a thread); it prints a banner on import, which is kept off stdout."""
    global _TIME_PARSER
    if _TIME_PARSER is None:
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp  # type: ignore[import-untyped]  # no stubs, no py.typed

        _TIME_PARSER = jionlp.parse_time
    return _TIME_PARSER


def by_time_parser(text: str, now: datetime) -> datetime | None:
    """The forms the tables above do not know (元旦, 下个月5号, 明天下午, 月底, 十二月十日, 下周五下班前)
    through jionlp's time parser. A day, a part of a day (明天下午: by its end) or a moment counts; a span
    longer than a day only when it names its end (月底, 年底: that day); 下周 is no deadline. An hour that
    does not exist (下午25点, which jionlp reads as 05:00) is not taken. PastDate when it is past."""
    if _CLOCK.search(text) and clock_at(text) is None:
        return None
    base = now.replace(tzinfo=None)
    named_end = "底" in text or "末" in text
    if text.startswith(("月底", "月末")):
        text = "本" + text  # jionlp wants the month said
    try:
        found = load_time_parser()(text, time_base=base.timestamp(), time_type="time_point")
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if found.get("type") != "time_point" and not (named_end and found.get("type") == "time_span"):
        return None
    start, end = (datetime.fromisoformat(t) for t in found["time"])
    whole_days = start.time() == time(0) and end.time() == time(23, 59, 59)
    if end - start > timedelta(days=1):
        if not (whole_days and named_end):
            return None
        start = datetime.combine(end.date(), time(0))
    if whole_days and start.date() < base.date() and "年" not in text:
        start = start.replace(year=start.year + 1)  # 元旦 in December: the coming one
    part = next((at for word, at in _PART_ENDS.items() if word in text), None)
    if whole_days:
        moment = end_of_day(start.date(), now.tzinfo)
    elif _CLOCK.search(text) or part is None:
        moment = start.replace(tzinfo=now.tzinfo)
    else:  # a part of the day, no hour: by the time it ends
        moment = datetime.combine(start.date(), part, tzinfo=now.tzinfo)
    if moment <= now:
        raise PastDate(f"{moment:%Y-%m-%d %H:%M}" if not whole_days else moment.date().isoformat())
    return moment


def clock_at(text: str) -> tuple[str, time] | None:
    """(the text before the time, the time) when `text` ends with a time of day."""
    m = _CLOCK.search(text)
    if m is None:
        return None
    period, hour_text, minute_text = m.group(1), m.group(2), m.group(3)
    hour = _small_number(hour_text)
    minute = {"半": 30, "一刻": 15, "三刻": 45}.get(minute_text or "", None)
    if minute is None:
        minute = _small_number(minute_text) if minute_text else 0
    if hour is None or minute is None:
        return None
    if period in _EVENING and hour < 12:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return text[: m.start()], time(hour, minute)


def _small_number(text: str) -> int | None:
    """0–59 in digits or in Chinese (五, 十二, 二十, 两, 三十五)."""
    if text.isdigit():
        return int(text)
    text = text.replace("两", "二")
    if "十" not in text:
        return _CN_DIGITS.index(text) if len(text) == 1 and text in _CN_DIGITS else None
    tens, _, units = text.partition("十")
    high = _CN_DIGITS.index(tens) if tens else 1
    low = _CN_DIGITS.index(units) if units else 0
    return high * 10 + low if (not tens or tens in _CN_DIGITS) and (not units or units in _CN_DIGITS) else None
