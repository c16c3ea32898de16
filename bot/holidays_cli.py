"""`grassroots holidays load FILE | show YEAR`: the State Council's holidays and 调休 working days for a
year the chinese_calendar package does not know yet (it publishes them late in the year). A file with
any bad row loads nothing: a half-loaded year would move meetings wrongly."""

import argparse
import sys
from collections import Counter
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_session import EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE, run_with_session
from bot.settings import Settings
from models.audit import record_audit
from models.official_days import load_official_days, parse_official_days, replace_official_years
from models.workdays import WorkCalendar

ACTOR = "cli"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="holidays_command", required=True)
    load = sub.add_parser("load", help="导入某年的放假和调休上班日期（CSV：日期,类型,名称）")
    load.add_argument("file", help="CSV 文件，每行如 2027-01-01,休,元旦 或 2027-02-07,班,春节")
    show = sub.add_parser("show", help="显示某年的放假和调休安排")
    show.add_argument("year", type=int)


def run_holidays_cli(settings: Settings, args: argparse.Namespace) -> int:
    if args.holidays_command == "load":
        path = Path(args.file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            print(f"找不到文件：{path}", file=sys.stderr)
            return EXIT_UNUSABLE
        except UnicodeDecodeError:
            print(f"{path} 不是 UTF-8 编码的 CSV 文件，请另存为 CSV UTF-8 后重试", file=sys.stderr)
            return EXIT_UNUSABLE
        return run_with_session(settings.database_url, lambda session: _load(session, path.name, text))
    return run_with_session(settings.database_url, lambda session: _show(session, args.year))


async def _load(session: AsyncSession, file_name: str, text: str) -> int:
    parsed = parse_official_days(text)
    if parsed.problems:
        for problem in parsed.problems:
            print(f"{file_name} {problem}")
        print("文件有问题，未导入任何日期。改正后请重新导入。")
        return EXIT_REFUSED
    if not parsed.days:
        print(f"{file_name} 中没有日期，未导入。每行如：2027-01-01,休,元旦")
        return EXIT_REFUSED
    years = await replace_official_years(session=session, days=parsed.days)
    kinds = Counter((d.year, w) for d, (w, _n) in parsed.days.items())
    record_audit(session=session, action="holidays.load", actor=ACTOR, years=years, file=file_name,
                 days=len(parsed.days))
    await session.commit()
    for year in years:
        print(f"已导入 {year} 年：放假 {kinds[(year, False)]} 天，调休上班 {kinds[(year, True)]} 天"
              "（此前导入的该年安排已替换）。")
    return EXIT_OK


async def _show(session: AsyncSession, year: int) -> int:
    loaded = await load_official_days(session=session, years=[year])
    if loaded:
        print(f"{year} 年（已导入）：")
        for day, (is_workday, name) in sorted(loaded.items()):
            print(f"{day.isoformat()}\t{'调休上班' if is_workday else '放假'}\t{name}")
        return EXIT_OK
    if WorkCalendar().knows(year):
        print(f"{year} 年的节假日已内置（chinesecalendar 软件包），无需导入。")
        return EXIT_OK
    print(f"{year} 年的节假日安排尚未导入：会议日期按周一至周五计算，不避开法定节假日。"
          f"国务院公布后请用 grassroots holidays load 文件.csv 导入。")
    return EXIT_OK
