"""A small street's roster, written as real CSV/XLSX files, and the database read back for asserts."""

import csv
from pathlib import Path

import openpyxl
from sqlmodel import col, func, select

from bot.db import SessionFactory
from bot.roster.person_state import PersonState, current_state
from models import Membership, Person
from models.roster import load_roster_snapshot

ORG_HEADER = ["编码", "名称", "层级", "上级编码"]
PERSON_HEADER = ["姓名", "手机", "类别", "所属组织", "参加组织", "职务", "流动党员", "在职党员", "离退休",
                 "报到社区", "单位", "企业微信账号"]

STREET_ORGS = [
    ["D01", "示范区", "区", ""],
    ["S01", "朝阳街道", "街道", "D01"],
    ["C01", "阳光社区", "社区", "S01"],
    ["C01B1", "阳光社区第一党支部", "党支部", "C01"],
    ["C01B1G1", "阳光社区第一党支部第一党小组", "党小组", "C01B1"],
    ["C02", "和平社区", "社区", "S01"],
    ["C02B1", "和平社区党支部", "党支部", "C02"],
    ["U01", "朝阳小学", "驻区单位", "C01"],
]
STREET_PEOPLE = [
    ["张伟", "13900000001", "党员", "C01B1", "", "书记@S01", "否", "否", "否", "", "", "zhangwei"],
    ["李娜", "139 0000 0002", "党员", "C01B1", "C02B1", "书记", "是", "否", "否", "", "", ""],
    ["王芳", "+86 139-0000-0003", "党员", "C01B1G1", "", "", "否", "是", "否", "C02", "", ""],
    ["刘强", "13900000004", "党员", "C02B1", "", "书记、副书记@C02", "否", "否", "是", "", "", ""],
    ["陈静", "13700000005", "居民", "C01", "", "", "", "", "", "", "", ""],
    ["赵磊", "13600000006", "驻区单位代表", "C01", "", "", "", "", "", "", "U01", ""],
]
STREET_ORG_ROWS: list[dict[str, object]] = [dict(zip(ORG_HEADER, row, strict=True)) for row in STREET_ORGS]


def person_rows(*people: list[str]) -> list[dict[str, object]]:
    """Rows for import_rows, keyed by header as the demo seed passes them."""
    return [dict(zip(PERSON_HEADER, p, strict=True)) for p in people]


def person(name: str, phone: str, org: str, **columns: str) -> list[str]:
    """A member's row; keyword arguments by header name override the defaults."""
    row = dict.fromkeys(PERSON_HEADER, "") | {"姓名": name, "手机": phone, "类别": "党员", "所属组织": org}
    return list((row | columns).values())


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def street_xlsx(path: Path) -> Path:
    return write_xlsx(path, {"组织": [ORG_HEADER, *STREET_ORGS], "人员": [PERSON_HEADER, *STREET_PEOPLE]})


async def people_state(session_factory: SessionFactory) -> dict[str, PersonState]:
    async with session_factory() as session:
        snapshot = await load_roster_snapshot(session=session)
    org, unit = snapshot.org_codes_by_id(), snapshot.unit_codes_by_id()
    return {phone: current_state(p, org, unit) for phone, p in snapshot.people.items()}


async def org_paths(session_factory: SessionFactory) -> dict[str, str]:
    async with session_factory() as session:
        snapshot = await load_roster_snapshot(session=session)
    return {code: o.path for code, o in snapshot.orgs.items()}


async def invite_codes(session_factory: SessionFactory) -> dict[str, str | None]:
    async with session_factory() as session:
        return dict((await session.exec(select(Person.phone, Person.invite_code))).all())  # type: ignore[arg-type]


async def count_people(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return (await session.exec(select(func.count()).select_from(Person))).one()


async def primaries(session_factory: SessionFactory, phone: str) -> list[int]:
    async with session_factory() as session:
        rows = await session.exec(
            select(Membership.org_id).join(Person, col(Person.id) == Membership.person_id)
            .where(Person.phone == phone, col(Membership.is_primary))
        )
        return list(rows)
