"""The roster import: read, check every row against the database, then write all of it in one
transaction (or, by default, nothing at all when any row is rejected)."""

import dataclasses
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from bot.db import SessionFactory
from bot.roster.columns import SheetKind
from bot.roster.org_plan import plan_orgs
from bot.roster.person_plan import plan_people
from bot.roster.readers import Sheet, read_roster_files, sheet_from_dicts
from bot.roster.report import ImportReport
from bot.roster.writer import write_orgs, write_people, write_units
from models.audit import record_audit
from models.directory import bump_directory_version
from models.roster import load_roster_snapshot, lock_roster


async def import_roster(
    *, session_factory: SessionFactory, paths: Sequence[Path], dry_run: bool = False, skip_bad: bool = False,
    progress: bool = True, actor: str = "cli",
) -> ImportReport:
    """Raises RosterFileError (before touching the database) when a file cannot be read."""
    files = read_roster_files([Path(p) for p in paths])
    report = await _import(
        session_factory, files.sheets, [Path(p).name for p in paths],
        dry_run=dry_run, skip_bad=skip_bad, progress=progress, actor=actor,
    )
    report.skipped_sheets = files.skipped
    return report


async def import_rows(
    *, session_factory: SessionFactory, org_rows: Iterable[dict[str, object]],
    person_rows: Iterable[dict[str, object]], source: str = "seed", dry_run: bool = False,
    skip_bad: bool = False, progress: bool = False,
) -> ImportReport:
    """The same import fed with header-keyed dicts (the demo seed, tests, a future upload page)."""
    sheets = [
        sheet_from_dicts(f"{source}:{SheetKind.orgs}", SheetKind.orgs, org_rows),
        sheet_from_dicts(f"{source}:{SheetKind.people}", SheetKind.people, person_rows),
    ]
    return await _import(
        session_factory, sheets, [source], dry_run=dry_run, skip_bad=skip_bad, progress=progress, actor=source
    )


def _bar(progress: bool, total: int, desc: str) -> tqdm:
    # disable=None: tqdm switches itself off when stderr is not a terminal (cron, CI, tests).
    return tqdm(total=total, desc=desc, unit="行", file=sys.stderr, disable=None if progress else True, leave=False)


def _ticker(bar: tqdm) -> Callable[[], object]:
    return lambda: bar.update(1)


async def _import(
    session_factory: SessionFactory, sheets: list[Sheet], sources: list[str], *, dry_run: bool,
    skip_bad: bool, progress: bool, actor: str,
) -> ImportReport:
    started = time.monotonic()
    # Organisations first: people refer to them.
    org_rows = [r for s in sheets if s.kind == SheetKind.orgs for r in s.rows]
    person_rows = [r for s in sheets if s.kind == SheetKind.people for r in s.rows]
    report = ImportReport(sources=sources, dry_run=dry_run, skip_bad=skip_bad, rows=len(org_rows) + len(person_rows))
    async with session_factory() as session:
        await lock_roster(session=session)
        snapshot = await load_roster_snapshot(session=session)
        with _bar(progress, report.rows, "检查") as bar:
            orgs = plan_orgs(org_rows, snapshot, _ticker(bar))
            people = plan_people(person_rows, snapshot, orgs, _ticker(bar))
        report.orgs, report.units, report.people = orgs.orgs, orgs.units, people.counts
        report.invite_codes = people.invite_codes
        report.rejected = sorted(orgs.rejected, key=lambda r: (r.file, r.line)) + people.rejected
        if dry_run or (report.rejected and not skip_bad) or not report.changed:
            report.seconds = time.monotonic() - started
            return report  # leaving the session rolls back the (read-only) transaction
        try:
            with _bar(progress, report.people.changed, "写入") as bar:
                org_ids = await write_orgs(session=session, snapshot=snapshot, plan=orgs)
                unit_ids = await write_units(session=session, snapshot=snapshot, plan=orgs, org_ids=org_ids)
                await write_people(
                    session=session, snapshot=snapshot, plan=people, org_ids=org_ids, unit_ids=unit_ids,
                    tick=bar.update,
                )
            record_audit(
                session=session, action="roster.import", actor=actor, files=sources,
                orgs=dataclasses.asdict(report.orgs), units=dataclasses.asdict(report.units),
                people=dataclasses.asdict(report.people), invite_codes=report.invite_codes,
                rejected=len(report.rejected), skip_bad=skip_bad,
            )
            # The callback path caches who is who: tell every process its copy is stale.
            await bump_directory_version(session=session)
            await session.commit()
            report.written = True
        except DBAPIError as exc:
            await session.rollback()
            first_line = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else exc.__class__.__name__
            report.error = f"数据库拒绝写入（{first_line}）。可能有人同时在修改名册，请重新导入。"
    report.seconds = time.monotonic() - started
    return report
