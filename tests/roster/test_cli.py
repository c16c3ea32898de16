"""`grassroots import-roster` / `export-roster` as the CLI calls them: a report and an exit code, and a
single Chinese line (no traceback) for a file or database that cannot be used."""

from pathlib import Path

import pytest

from bot.roster import run_export_cli, run_import_cli
from tests.roster.roster_files import PERSON_HEADER, person, street_xlsx, write_csv


def test_import_prints_the_report_and_exits_0(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_import_cli(database_url, [str(street_xlsx(tmp_path / "r.xlsx"))], dry_run=False, skip_bad=False)

    out = capsys.readouterr().out
    assert code == 0
    assert "人员：新建 6，更新 0，未变 0，拒绝 0" in out and "共处理 14 行" in out


def test_rejected_rows_exit_1_even_with_skip_bad(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_import_cli(database_url, [str(street_xlsx(tmp_path / "r.xlsx"))], dry_run=False, skip_bad=False)
    bad = write_csv(tmp_path / "people.csv", PERSON_HEADER, [person("钱七", "138123", "C01B1")])

    assert run_import_cli(database_url, [str(bad)], dry_run=False, skip_bad=True) == 1
    assert "people.csv 第 2 行：手机号格式不对（138123）" in capsys.readouterr().out


def test_a_missing_file_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import_cli(database_url, [str(tmp_path / "nope.xlsx")], dry_run=False, skip_bad=False) == 2
    assert capsys.readouterr().err.strip() == f"找不到文件：{tmp_path / 'nope.xlsx'}"


def test_an_unmigrated_database_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'blank.db'}"
    assert run_import_cli(url, [str(street_xlsx(tmp_path / "r.xlsx"))], dry_run=False, skip_bad=False) == 2
    assert capsys.readouterr().err.startswith("无法读写数据库")


def test_export_writes_the_file_and_says_what_it_wrote(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_import_cli(database_url, [str(street_xlsx(tmp_path / "r.xlsx"))], dry_run=False, skip_bad=False)

    assert run_export_cli(database_url, str(tmp_path / "out.xlsx"), org_code=None) == 0
    assert (tmp_path / "out.xlsx").exists()
    assert "已导出：组织 7，驻区单位 1，人员 6" in capsys.readouterr().out
    assert run_export_cli(database_url, str(tmp_path / "out.xlsx"), org_code="X9") == 2
