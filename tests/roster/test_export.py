"""The export is the import format: what goes out comes back in unchanged."""

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import SessionFactory
from bot.roster import RosterFileError, export_roster, import_roster
from bot.roster.demo_seed import seed_demo
from tests.db import empty_all_tables
from tests.roster.roster_files import org_paths, people_state


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_export_then_import_into_an_empty_database_reproduces_the_roster(
    engine: AsyncEngine, session_factory: SessionFactory, tmp_path: Path, suffix: str
) -> None:
    await seed_demo(session_factory=session_factory)
    people, paths = await people_state(session_factory), await org_paths(session_factory)

    files = await export_roster(session_factory=session_factory, path=tmp_path / f"名册{suffix}")
    await empty_all_tables(engine)
    report = await import_roster(session_factory=session_factory, paths=files, progress=False)

    assert report.ok, report.render()
    assert await people_state(session_factory) == people
    assert await org_paths(session_factory) == paths


async def test_the_xlsx_has_an_organisation_sheet_and_a_people_sheet_with_invite_codes(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    await seed_demo(session_factory=session_factory)

    [path] = await export_roster(session_factory=session_factory, path=tmp_path / "名册.xlsx")

    book = openpyxl.load_workbook(path, read_only=True)
    orgs, people = ([list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets)
    book.close()
    assert book.sheetnames == ["组织", "人员"]
    assert orgs[0] == ["编码", "名称", "层级", "上级编码"] and orgs[1] == ["M01", "示范市", "市", None]
    assert ["U01", "朝阳小学", "驻区单位", "C01"] in orgs
    assert people[0][-1] == "邀请码"
    members = [row for row in people[1:] if row[2] == "党员"]
    assert len(members) == 40 and all(isinstance(row[1], str) and len(row[1]) == 11 for row in people[1:])


async def test_csv_export_writes_two_files_excel_can_open(session_factory: SessionFactory, tmp_path: Path) -> None:
    await seed_demo(session_factory=session_factory)

    files = await export_roster(session_factory=session_factory, path=tmp_path / "roster.csv")

    assert [f.name for f in files] == ["roster-组织.csv", "roster-人员.csv"]
    assert all(f.read_bytes().startswith(b"\xef\xbb\xbf") for f in files)  # the BOM Excel needs


async def test_a_street_exports_only_its_own_subtree(session_factory: SessionFactory, tmp_path: Path) -> None:
    await seed_demo(session_factory=session_factory)

    [path] = await export_roster(session_factory=session_factory, path=tmp_path / "s01.xlsx", org_code="S01")

    book = openpyxl.load_workbook(path, read_only=True)
    orgs, people = ([list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets)
    book.close()
    assert {row[0] for row in orgs[1:]} == {"S01", "S01JG", "C01", "C01B1", "C01B1G1", "C01B1G2", "C01B2",
                                            "C02", "C02B1", "U01"}
    assert orgs[1] == ["S01", "朝阳街道", "街道", "D01"]  # the subtree keeps its place in the whole tree
    primary_codes = {row[3] for row in people[1:]}
    assert primary_codes <= {row[0] for row in orgs[1:]}
    # Re-importing the street's own export into the full roster changes nothing.
    report = await import_roster(session_factory=session_factory, paths=[path], progress=False)
    assert report.ok and not report.written, report.render()


async def test_exporting_an_unknown_organisation_says_so(session_factory: SessionFactory, tmp_path: Path) -> None:
    with pytest.raises(RosterFileError, match="组织编码 X9 不存在"):
        await export_roster(session_factory=session_factory, path=tmp_path / "x.xlsx", org_code="X9")

