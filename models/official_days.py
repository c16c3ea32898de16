"""The State Council's holidays and make-up working days (调休) for years the `chinese_calendar`
package does not know yet: it is released with each year's data some weeks after the announcement
(late in the year), and 1.11 stops at 2026. Loaded from a small CSV with `grassroots holidays load`;
where a year has loaded days they decide, before the package."""

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, extract
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow

NAME_LIMIT = 40


class OfficialDay(SQLModel, table=True):
    """A day off (a statutory holiday) or a worked weekend day (调休), as announced."""

    __tablename__ = "official_day"
    day: date = Field(primary_key=True)
    is_workday: bool  # True: a weekend day worked in exchange (调休上班)
    name: str = Field(default="", max_length=NAME_LIMIT)  # the holiday it belongs to: 春节, 国庆节…
    loaded_at: datetime = Field(default_factory=utcnow)


# The words a secretary may write in the kind column.
_OFF = {"休", "假", "放假", "休息", "节假日", "假日", "holiday", "off"}
_WORK = {"班", "上班", "补班", "调休上班", "调休", "工作日", "workday", "work"}
_HEADER_WORDS = {"日期", "date", "day"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass
class ParsedDays:
    days: dict[date, tuple[bool, str]] = field(default_factory=dict)  # day → (is_workday, name)
    problems: list[str] = field(default_factory=list)  # one line per bad row, for the import report

    @property
    def years(self) -> list[int]:
        return sorted({d.year for d in self.days})


def parse_official_days(text: str) -> ParsedDays:
    """Rows of `日期,类型,名称` (2027-01-01,休,元旦 · 2027-02-07,班,春节); a header row is optional,
    dates may be written 2027/1/1 or 2027年1月1日, the name may be left out."""
    parsed = ParsedDays()
    for line_no, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if line_no == 1 and cells[0].lower() in _HEADER_WORDS:
            continue
        where = f"第 {line_no} 行"
        match = _DATE.match(cells[0])
        try:
            day = date(int(match[1]), int(match[2]), int(match[3])) if match else None
        except ValueError:
            day = None
        if day is None:
            parsed.problems.append(f"{where}：日期“{cells[0]}”无法识别，请写成 2027-01-01")
            continue
        kind = cells[1].lower() if len(cells) > 1 else ""
        if kind in _OFF:
            is_workday = False
        elif kind in _WORK:
            is_workday = True
        else:
            parsed.problems.append(f"{where}：类型“{kind}”无法识别，请写“休”（放假）或“班”（调休上班）")
            continue
        if day in parsed.days:
            parsed.problems.append(f"{where}：{day.isoformat()} 重复出现")
            continue
        if is_workday and day.weekday() < 5:
            parsed.problems.append(f"{where}：{day.isoformat()} 本来就是工作日，无需标为调休上班")
            continue
        parsed.days[day] = (is_workday, (cells[2] if len(cells) > 2 else "")[:NAME_LIMIT])
    return parsed


async def replace_official_years(*, session: AsyncSession, days: Mapping[date, tuple[bool, str]]) -> list[int]:
    """The loaded days of each year named in `days` replaced by them (a corrected file is loaded
    again); returns the years."""
    years = sorted({d.year for d in days})
    if not years:
        return []
    await session.exec(delete(OfficialDay).where(extract("year", col(OfficialDay.day)).in_(years)))
    session.add_all(OfficialDay(day=d, is_workday=w, name=n) for d, (w, n) in sorted(days.items()))
    await session.flush()
    return years


async def load_official_days(
    *, session: AsyncSession, years: Iterable[int] | None = None
) -> dict[date, tuple[bool, str]]:
    query = select(OfficialDay)
    if years is not None:
        query = query.where(extract("year", col(OfficialDay.day)).in_(list(years)))
    return {r.day: (r.is_workday, r.name) for r in (await session.exec(query)).all()}
