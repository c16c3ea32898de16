"""How secretaries write a meeting in one message: `开会 党小组会 12月28日 19:30 党群服务中心 学习…` —
a kind, a day and a time (明天晚上7点半, 下周三 19:30, 12月28日19:30), a place, a topic, and optionally
a repeat (每月15日, 每月第三个周二, 每季度, 每年, 至2027年6月30日) and a length (90分钟, 2小时). Each part is
recognised wherever it stands; what is missing is asked for one question at a time."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from handlers.notices.parsing import PastDate, by_time_parser, clock_at, deadline
from models.meeting import KIND_WORDS, MeetingKind
from models.meeting_dates import Every, Repeat

_KINDS = sorted(KIND_WORDS, key=len, reverse=True)
_CN = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "最后一": -1, "最后": -1}
_MONTH_DAY = re.compile(r"^每月(\d{1,2})[日号]?$")
_MONTH_NTH = re.compile(r"^每月(?:的)?第?([一二三四1-4]|最后一?)个?(?:周|星期|礼拜)([一二三四五六日天1-7])$")
_EVERY = {"每季度": Every.quarter, "每个季度": Every.quarter, "每年": Every.year, "每月": Every.month,
          "每个月": Every.month}
_UNTIL = re.compile(r"^(?:至|到|截至|直到)(.+?)(?:止|为止)?$")
_LENGTH = re.compile(r"^(?:约|共|时长)?(\d{1,3})\s*(分钟|小时|个小时)$")
_HALF_HOURS = {"半小时": 30, "一小时": 60, "一个小时": 60, "两小时": 120, "两个小时": 120, "一个半小时": 90}
MAX_MINUTES = 8 * 60
# A part named by its label, as in a correction at the preview: 地点改为党群服务中心 · 议题：学习党章.
_LABELLED = re.compile(r"^(?:把)?(地点|会议地点|议题|会议议题|主题)(?:改为|改成|换成|是|为|[:：])?(.+)$")


@dataclass(slots=True)
class MeetingWords:
    kind: MeetingKind | None = None
    day: date | None = None
    at: time | None = None
    place: str = ""
    topic: str = ""
    repeat: Repeat | None = None
    minutes: int | None = None
    group: str = ""  # a group's name, as written
    past: bool = False  # a day or moment already past was given
    rest: list[str] = field(default_factory=list)  # words not recognised (place, then topic)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else _CN.get(text)


def _repeat(word: str, words: MeetingWords, today: date) -> bool:
    if m := _MONTH_DAY.match(word):
        words.repeat = Repeat(Every.month, day=int(m.group(1)), until=words.repeat.until if words.repeat else None)
        return True
    if m := _MONTH_NTH.match(word):
        nth, weekday = _number(m.group(1)), _number(m.group(2))
        if nth is None or weekday is None:
            return False
        words.repeat = Repeat(Every.month, weekday=weekday, nth=nth,
                              until=words.repeat.until if words.repeat else None)
        return True
    if word in _EVERY:
        words.repeat = Repeat(_EVERY[word], until=words.repeat.until if words.repeat else None)
        return True
    if (m := _UNTIL.match(word)) is not None:
        try:
            until = deadline(m.group(1), today)
        except PastDate:
            return False
        if until is None:
            return False
        base = words.repeat or Repeat(Every.month)
        words.repeat = Repeat(base.every, base.day, base.weekday, base.nth, until)
        return True
    return False


def _length(word: str) -> int | None:
    if word in _HALF_HOURS:
        return _HALF_HOURS[word]
    if (m := _LENGTH.match(word)) is not None:
        value = int(m.group(1)) * (60 if "小时" in m.group(2) else 1)
        return value if 0 < value <= MAX_MINUTES else None
    return None


def _when(word: str, words: MeetingWords, now: datetime) -> bool:
    """A day, a time of day, or both, in one word."""
    clock = clock_at(word)
    try:
        if clock is not None:
            rest, at = clock
            if rest:
                day = deadline(rest, now.date())
                if day is None:
                    moment = by_time_parser(word, now)
                    if moment is None:
                        return False
                    words.day, words.at = moment.date(), moment.time()
                    return True
                words.day = day
            words.at = at
            return True
        day = deadline(word, now.date())
        if day is not None:
            words.day = day
            return True
    except PastDate:
        words.past = True
        return True
    return False


def read_meeting(text: str, now: datetime, groups: Sequence[str] = ()) -> MeetingWords:
    """The parts of a meeting in `text` (the words after 开会, or an answer in the dialogue)."""
    words = MeetingWords()
    tokens = text.split()
    while tokens:
        word = tokens.pop(0)
        if words.kind is None and (kind := next((k for k in _KINDS if word.startswith(k)), None)) is not None:
            words.kind = KIND_WORDS[kind]
            if rest := word[len(kind):]:
                tokens.insert(0, rest)
            continue
        if not words.group and (group := next((g for g in groups if word in (g, g.removesuffix("党小组"))), None)):
            words.group = group
            continue
        if (m := _LABELLED.match(word)) is not None:
            if "地点" in m.group(1):
                words.place = m.group(2)
            else:
                words.topic = " ".join([m.group(2), *tokens])  # a topic runs to the end
                tokens = []
            continue
        if _repeat(word, words, now.date()):
            continue
        if words.minutes is None and (minutes := _length(word)) is not None:
            words.minutes = minutes
            continue
        if (words.day is None or words.at is None) and _when(word, words, now):
            continue
        if words.day is None and words.at is None and tokens and _when(word + tokens[0], words, now):
            tokens.pop(0)  # 明天 晚上7点 written apart
            continue
        words.rest.append(word)
    return words


def merge(data: dict[str, Any], words: MeetingWords, *, step: str) -> dict[str, Any]:
    """The conversation's data with what this answer said; free words fill the step's own field (the
    place at the place question, the topic at the topic question, or the first free field)."""
    found = dict(data)
    if words.kind is not None:
        found["kind"] = words.kind.value
    if words.day is not None:
        found["day"] = words.day.isoformat()
    if words.at is not None:
        found["at"] = words.at.strftime("%H:%M")
    if words.minutes is not None:
        found["minutes"] = words.minutes
    if words.group:
        found["group"] = words.group
    if words.place:
        found["place"] = words.place
    if words.topic:
        found["topic"] = words.topic
    if words.repeat is not None:
        r = words.repeat
        found["repeat"] = {"every": r.every.value, "day": r.day, "weekday": r.weekday, "nth": r.nth,
                           "until": r.until.isoformat() if r.until else None}
    rest = list(words.rest)
    if rest and step == "topic":
        found["topic"] = " ".join(rest)
        rest = []
    if rest and step in ("place", "kind", "when", "group", "start") and not found.get("place"):
        found["place"] = rest.pop(0)
    if rest and not found.get("topic"):
        found["topic"] = " ".join(rest)
    return found


def repeat_of(data: dict[str, Any]) -> Repeat | None:
    raw = data.get("repeat")
    if not raw:
        return None
    until = date.fromisoformat(raw["until"]) if raw.get("until") else None
    return Repeat(Every(raw["every"]), raw.get("day"), raw.get("weekday"), raw.get("nth"), until)
