"""Synchronous entry points for `grassroots import-roster` and `grassroots export-roster`: one engine
per command, the report on stdout, one Chinese line on stderr for what stops the command outright."""

import asyncio
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.db import create_engine, create_session_factory
from bot.roster.export import RosterExport, export_roster_detailed
from bot.roster.importer import import_roster
from bot.roster.readers import RosterFileError
from bot.roster.report import ImportReport

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


def run_import_cli(database_url: str, paths: list[str], *, dry_run: bool, skip_bad: bool) -> int:
    """0: imported (or nothing to do); 1: rows rejected or the write refused; 2: files or database unusable."""

    async def run() -> ImportReport:
        engine = create_engine(database_url)
        try:
            return await import_roster(
                session_factory=create_session_factory(engine), paths=[Path(p) for p in paths],
                dry_run=dry_run, skip_bad=skip_bad, progress=True,
            )
        finally:
            await engine.dispose()

    if not paths:
        return _fail("请给出要导入的名册文件（.csv 或 .xlsx）")
    try:
        report = asyncio.run(run())
    except RosterFileError as exc:
        return _fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"无法读写数据库：{_first_line(exc)}（先运行 grassroots migrate？）")
    print(report.render())
    return EXIT_OK if report.ok else EXIT_REJECTED


def run_export_cli(database_url: str, path: str, *, org_code: str | None) -> int:
    async def run() -> RosterExport:
        engine = create_engine(database_url)
        try:
            return await export_roster_detailed(
                session_factory=create_session_factory(engine), path=Path(path), org_code=org_code
            )
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(run())
    except RosterFileError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"无法写入 {path}：{exc.strerror or exc}")
    except SQLAlchemyError as exc:
        return _fail(f"无法读取数据库：{_first_line(exc)}（先运行 grassroots migrate？）")
    print(f"已导出：组织 {result.orgs}，驻区单位 {result.units}，人员 {result.people}")
    print("\n".join(f"  {p}" for p in result.paths))
    if result.without_phone:
        print(f"另有 {result.without_phone} 人没有手机号（扫码加入的居民），名册以手机号为准，未导出。")
    return EXIT_OK


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_UNUSABLE
