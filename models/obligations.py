"""三会一课 obligations and whether organisations meet them. Each obligation names a meeting kind, how
often (every month, quarter or year) and how many times; branches have them all but the 党小组会,
which is their groups'. Configurable (GRASSROOTS_MEETING_OBLIGATIONS, `kind:every[:times]` separated by
commas); the default follows the guidance: 支委会, 党小组会 and 主题党日 monthly, 支部党员大会 and 党课
quarterly, 组织生活会 and 民主评议党员 yearly. Only meetings recorded as held (已召开) count.

Over a reporting period (a month `2026-11`, a quarter `2026-Q4`, a year `2026`) an obligation is
checked in each of its own periods that has begun: `required` is the times asked in those, `held` the
meetings held, and it is `ok` when no finished one fell short (the current one may still be met)."""

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import String, cast, func
from sqlalchemy import select as core_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.meeting import KIND_NAMES, MeetingKind
from models.meeting_dates import Every
from models.meeting_record import MeetingRecord
from models.organisation import Organisation, OrgLevel
from models.typed import col_not_none

DEFAULT_OBLIGATIONS = ("committee:month,group:month,party_day:month,assembly:quarter,lecture:quarter,"
                       "life:year,appraisal:year")
MONTHS = {Every.month: 1, Every.quarter: 3, Every.year: 12}
EVERY_NAMES = {Every.month: "每月", Every.quarter: "每季度", Every.year: "每年"}


@dataclass(frozen=True, slots=True)
class Obligation:
    kind: MeetingKind
    every: Every
    times: int = 1

    @property
    def level(self) -> OrgLevel:
        """Who holds it: a 党小组会 is its group's, every other kind the branch's."""
        return OrgLevel.group if self.kind == MeetingKind.group else OrgLevel.branch

    def describe(self) -> str:
        times = f"{self.times} 次" if self.times > 1 else ""
        return f"{KIND_NAMES[self.kind]}（{EVERY_NAMES[self.every]}{times or '1 次'}）"


def parse_obligations(text: str) -> list[Obligation]:
    """`committee:month,assembly:quarter:1,…` → obligations; raises ValueError naming what is wrong."""
    found: list[Obligation] = []
    for item in (p.strip() for p in text.split(",") if p.strip()):
        parts = item.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"“{item}”应写作 种类:周期[:次数]，如 committee:month")
        try:
            kind, every = MeetingKind(parts[0]), Every(parts[1])
        except ValueError as exc:
            raise ValueError(f"“{item}”的会议种类或周期无效（周期为 month、quarter 或 year）") from exc
        if every not in MONTHS:
            raise ValueError(f"“{item}”的周期应为 month、quarter 或 year")
        times = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 1
        if len(parts) == 3 and (not parts[2].isdigit() or times < 1):
            raise ValueError(f"“{item}”的次数应为正整数")
        found.append(Obligation(kind, every, times))
    return found


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day
    end: date  # the day after the last
    label: str  # 2026-11, 2026-Q4, 2026
    months: int

    def name(self) -> str:
        if self.months == 1:
            return f"{self.start.year}年{self.start.month}月"
        if self.months == 3:
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period(year: int, month: int, months: int) -> Period:
    start = date(year, month, 1)
    label = (f"{year}-{month:02d}" if months == 1 else f"{year}-Q{(month - 1) // 3 + 1}" if months == 3
             else f"{year}")
    return Period(start, _add_months(start, months), label, months)


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{1,2})|[Qq]([1-4])))?$")


def parse_period(text: str) -> Period | None:
    """`2026-11`, `2026-Q4` or `2026`; None for anything else."""
    match = _PERIOD.match(text.strip())
    if match is None:
        return None
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        return None
    if match.group(2):
        month = int(match.group(2))
        return _period(year, month, 1) if 1 <= month <= 12 else None
    if match.group(3):
        return _period(year, (int(match.group(3)) - 1) * 3 + 1, 3)
    return _period(year, 1, 12)


def period_of(day: date, every: Every) -> Period:
    months = MONTHS[every]
    return _period(day.year, (day.month - 1) // months * months + 1, months)


def sub_periods(period: Period, every: Every) -> list[Period]:
    """The obligation's own periods that overlap the reporting period (a yearly obligation over a
    month: the whole year)."""
    first = period_of(period.start, every)
    found = [first]
    while found[-1].end < period.end:
        found.append(period_of(found[-1].end, every))
    return found


@dataclass(slots=True)
class ObligationState:
    obligation: Obligation
    required: int
    held: int
    ok: bool
    missing: list[str]  # the finished periods that fell short


@dataclass(frozen=True, slots=True)
class OrgRef:
    """The organisation a compliance line is about: the columns the reports show, read without the ORM
    (a city has some 20,000 branches and groups)."""

    id: int
    code: str
    name: str
    path: str
    level: OrgLevel


@dataclass(slots=True)
class OrgCompliance:
    org: OrgRef
    obligations: list[ObligationState] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.obligations)

    @property
    def gaps(self) -> list[ObligationState]:
        return [o for o in self.obligations if not o.ok or o.held < o.required]


@dataclass(slots=True)
class Compliance:
    root: Organisation
    period: Period
    organisations: list[OrgCompliance]

    @property
    def behind(self) -> list[OrgCompliance]:
        return [o for o in self.organisations if not o.ok]


def _month(day: date) -> int:
    return day.year * 100 + day.month


async def _held(session: AsyncSession, root: Organisation, since: date, until: date) -> dict[tuple[int, str], str]:
    """(organisation, kind) → the local months of its held meetings in [since, until), joined
    (`202511,202512,202512`), for the organisations at or under `root`: one query over the records'
    month index, one row per (organisation, kind) — a city's year is some 300,000 records, and turning
    each into a Python row cost more than the query."""
    months = func.aggregate_strings(cast(col(MeetingRecord.held_month), String), ",")
    query = (core_select(col(MeetingRecord.owner_org_id), col(MeetingRecord.kind), months)
             .where(col(MeetingRecord.held_month) >= _month(since), col(MeetingRecord.held_month) < _month(until))
             .group_by(col(MeetingRecord.owner_org_id), col(MeetingRecord.kind)))
    if root.parent_id is not None:  # the whole tree needs no filter
        query = query.join(Organisation, col(Organisation.id) == MeetingRecord.owner_org_id).where(
            col(Organisation.path).startswith(root.path))
    conn = await session.connection()
    return {(owner, kind): joined for owner, kind, joined in (await conn.execute(query)).all()}


async def compliance(*, session: AsyncSession, root: Organisation, period: Period, obligations: list[Obligation],
                     today: date) -> Compliance:
    """Each branch and group at or under `root` against the obligations over `period` (as of `today`)."""
    # Core rows on the session's connection: no ORM objects for a city's 20,000 organisations.
    conn = await session.connection()
    orgs = [OrgRef(i, code, name, path, OrgLevel(level)) for i, code, name, path, level in (await conn.execute(
        core_select(col_not_none(Organisation.id), col(Organisation.code), col(Organisation.name),
                    col(Organisation.path), col(Organisation.level))
        .where(col(Organisation.path).startswith(root.path),
               col(Organisation.level).in_([OrgLevel.branch, OrgLevel.group]))
        .order_by(col(Organisation.path)))).all()]
    spans = {o.every: sub_periods(period, o.every) for o in obligations}
    since = min(s[0].start for s in spans.values()) if spans else period.start
    until = max(s[-1].end for s in spans.values()) if spans else period.end
    held = await _held(session, root, since, until)
    # Per kind of period: those begun, whether each has finished, and which of them each month is in.
    begun = {every: [p for p in periods if p.start <= today] for every, periods in spans.items()}
    finished = {every: [p.end <= today for p in periods] for every, periods in begun.items()}
    period_of_month = {every: {str(_month(_add_months(p.start, i))): n for n, p in enumerate(periods)
                               for i in range(p.months)} for every, periods in begun.items()}
    result = []
    for org in orgs:
        states = []
        for obligation in obligations:
            if org.level != obligation.level:
                continue
            every = obligation.every
            counts = [0] * len(begun[every])
            if (joined := held.get((org.id, obligation.kind.value))) is not None:
                index = period_of_month[every]
                for month in joined.split(","):
                    if (n := index.get(month)) is not None:
                        counts[n] += 1
            missing = [p.label for p, done, count in zip(begun[every], finished[every], counts, strict=True)
                       if done and count < obligation.times]
            states.append(ObligationState(obligation, obligation.times * len(counts), sum(counts), not missing,
                                          missing))
        if states:
            result.append(OrgCompliance(org, states))
    return Compliance(root, period, result)
