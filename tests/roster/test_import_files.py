"""A secretary imports the roster from the files Excel and WPS actually produce."""

from pathlib import Path

import pytest

from bot.db import SessionFactory
from bot.roster import RosterFileError, import_roster
from bot.roster.invite import ALPHABET
from models.person import PersonKind, RoleKind
from tests.roster.roster_files import (
    ORG_HEADER,
    PERSON_HEADER,
    STREET_ORGS,
    STREET_PEOPLE,
    invite_codes,
    org_paths,
    people_state,
    street_xlsx,
    write_csv,
    write_xlsx,
)


async def test_a_secretary_imports_the_streets_roster_from_excel_and_every_member_gets_an_invite_code(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    report = await import_roster(session_factory=session_factory, paths=[street_xlsx(tmp_path / "朝阳街道.xlsx")],
                                 progress=False)

    assert report.ok and report.written, report.render()
    assert (report.orgs.created, report.units.created, report.people.created) == (7, 1, 6)
    codes = await invite_codes(session_factory)
    members = ["13900000001", "13900000002", "13900000003", "13900000004"]
    assert all(len(codes[p] or "") == 6 and set(codes[p] or "") <= set(ALPHABET) for p in members)
    assert len({codes[p] for p in members}) == 4
    # Residents and unit representatives bind by QR code or WeCom, not by invite code.
    assert codes["13700000005"] is None and codes["13600000006"] is None
    assert report.invite_codes == 4


async def test_the_roster_arrives_with_its_memberships_roles_and_flags(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    await import_roster(session_factory=session_factory, paths=[street_xlsx(tmp_path / "r.xlsx")], progress=False)

    people = await people_state(session_factory)
    zhang, li, wang, liu = (people[f"1390000000{i}"] for i in range(1, 5))
    assert zhang.roles == {(RoleKind.secretary, "S01")} and zhang.work_userid == "zhangwei"
    assert li.primary == "C01B1" and li.participating == {"C02B1"} and li.is_mobile
    assert li.roles == {(RoleKind.secretary, "C01B1")}  # a role without "@" is on the primary organisation
    assert wang.is_in_service and wang.report_org == "C02"
    assert liu.is_retired and liu.roles == {(RoleKind.secretary, "C02B1"), (RoleKind.deputy, "C02")}
    assert people["13600000006"].kind == PersonKind.unit_rep and people["13600000006"].unit == "U01"
    assert (await org_paths(session_factory))["C01B1G1"] == "/D01/S01/C01/C01B1/C01B1G1/"


async def test_gb18030_csv_saved_by_excel_on_chinese_windows_is_read(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, STREET_ORGS, encoding="gb18030")
    people = write_csv(tmp_path / "people.csv", PERSON_HEADER, STREET_PEOPLE, encoding="gb18030")

    # People first on the command line: organisations are still applied before them.
    report = await import_roster(session_factory=session_factory, paths=[people, orgs], progress=False)

    assert report.ok, report.render()
    assert (await people_state(session_factory))["13900000002"].name == "李娜"


async def test_plain_utf8_csv_with_english_headers_and_full_width_input_is_read(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    orgs = write_csv(tmp_path / "orgs.csv", [" code ", "name", "level", "parent"], STREET_ORGS, encoding="utf-8")
    people = write_csv(tmp_path / "people.csv", ["name", "phone", "kind", "org", "orgs"], [
        ["周明", "１３９００００００１０", "党员", "C01B1", "C02B1；C01B1G1"],  # full-width digits and semicolon
    ], encoding="utf-8")

    report = await import_roster(session_factory=session_factory, paths=[orgs, people], progress=False)

    assert report.ok, report.render()
    assert (await people_state(session_factory))["13900000010"].participating == {"C02B1", "C01B1G1"}


async def test_an_xlsx_with_a_title_row_an_instructions_sheet_and_empty_rows_is_read(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    path = write_xlsx(tmp_path / "花名册.xlsx", {
        "说明": [["请按模板填写"], ["手机号填 11 位"]],
        "组织": [["朝阳街道组织名册"], ORG_HEADER, *STREET_ORGS[:3]],
        "人员": [PERSON_HEADER, [], ["孙丽", 13900000020, "党员", "C01", None, None, True, False, None], []],
    })

    report = await import_roster(session_factory=session_factory, paths=[path], progress=False)

    assert report.ok, report.render()
    assert report.skipped_sheets == ["花名册.xlsx「说明」"]
    assert (await people_state(session_factory))["13900000020"].is_mobile  # an Excel TRUE counts as 是


async def test_line_numbers_are_the_files_own(session_factory: SessionFactory, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", {
        "组织": [["标题"], [], ORG_HEADER, ["D01", "示范区", "区", ""]],
        "人员": [PERSON_HEADER, [], ["孙丽", "138123", "党员", "D01"]],
    })

    report = await import_roster(session_factory=session_factory, paths=[path], progress=False)

    assert [r.render() for r in report.rejected] == ["r.xlsx「人员」 第 3 行：手机号格式不对（138123）"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "找不到文件"),
        ("roster.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx 或 .csv"),
        ("roster.txt", b"x", "不支持的文件类型"),
        ("broken.xlsx", b"not a zip", "不是有效的 Excel"),
        ("empty.csv", b"", "文件是空的"),
        ("other.csv", "序号,备注\n1,x\n".encode(), "认不出表头"),
    ],
)
async def test_a_file_that_cannot_be_read_stops_before_the_database_is_touched(
    session_factory: SessionFactory, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RosterFileError, match=message):
        await import_roster(session_factory=session_factory, paths=[path], progress=False)


async def test_a_quoted_cell_spanning_lines_keeps_the_line_numbers_right(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, [["D01", "示范区\n（试点）", "区", ""]])
    people = write_csv(tmp_path / "people.csv", PERSON_HEADER[:4], [
        ["张伟", "13900000001", "党员", "D01"], ["李娜", "1390000", "党员", "D01"],
    ])

    report = await import_roster(session_factory=session_factory, paths=[orgs, people], progress=False)

    assert [r.render() for r in report.rejected] == ["people.csv 第 3 行：手机号格式不对（1390000）"]
