"""`grassroots holidays load FILE`: an administrator loads 2027's holidays as the State Council
announced them; a file with a bad row loads nothing and names the row; `show` tells what is known."""

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.db import SessionFactory
from models import AuditEntry, OfficialDay
from models.official_days import load_official_days
from models.workdays import WorkCalendar

HOLIDAYS_2027 = "日期,类型,名称\n2027-01-01,休,元旦\n2027-02-06,休,春节\n2027-02-07,班,春节\n"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", database_url)

    async def run(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))  # the CLI runs its own event loop

    return run


async def test_loading_a_year_moves_its_meetings_and_loading_it_again_replaces_it(
    cli, session_factory: SessionFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    assert await cli("holidays", "show", "2027") == 0
    assert "2027 年的节假日安排尚未导入" in capsys.readouterr().out
    path = tmp_path / "2027.csv"
    path.write_text(HOLIDAYS_2027, encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"
    assert await cli("holidays", "load", str(path)) == 0
    assert capsys.readouterr().out.strip() == "已导入 2027 年：放假 2 天，调休上班 1 天（此前导入的该年安排已替换）。"
    async with session_factory() as s:
        calendar = WorkCalendar(await load_official_days(session=s))
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "holidays.load"))).one()
    assert calendar.next_workday(date(2026, 12, 31)) == date(2027, 1, 4) and audit.detail["years"] == [2027]

    path.write_text("2027-01-01,休,元旦\n", encoding="utf-8")  # corrected: 春节 taken out again
    assert await cli("holidays", "load", str(path)) == 0
    async with session_factory() as s:
        assert [d.day for d in (await s.exec(select(OfficialDay))).all()] == [date(2027, 1, 1)]
    capsys.readouterr()
    assert await cli("holidays", "show", "2027") == 0
    assert capsys.readouterr().out.splitlines() == ["2027 年（已导入）：", "2027-01-01\t放假\t元旦"]


async def test_a_file_with_a_bad_row_loads_nothing_and_names_the_row(
    cli, session_factory: SessionFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "2027.csv"
    path.write_text(HOLIDAYS_2027 + "2027-02-30,休,春节\n", encoding="utf-8")
    assert await cli("holidays", "load", str(path)) == 1
    assert capsys.readouterr().out.splitlines() == [
        "2027.csv 第 5 行：日期“2027-02-30”无法识别，请写成 2027-01-01",
        "文件有问题，未导入任何日期。改正后请重新导入。"]
    async with session_factory() as s:
        assert (await s.exec(select(OfficialDay))).all() == []


async def test_a_missing_file_a_wrong_encoding_and_a_known_year_get_one_line_each(
    cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    assert await cli("holidays", "load", str(tmp_path / "nope.csv")) == 2
    assert capsys.readouterr().err.strip() == f"找不到文件：{tmp_path / 'nope.csv'}"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("2027-01-01,休,元旦\n".encode("gbk"))
    assert await cli("holidays", "load", str(gbk)) == 2
    assert "不是 UTF-8 编码的 CSV 文件" in capsys.readouterr().err
    assert await cli("holidays", "show", "2026") == 0
    assert "已内置" in capsys.readouterr().out
