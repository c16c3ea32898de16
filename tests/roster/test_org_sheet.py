"""The organisation sheet is resolved as a whole tree: parents may come later, levels must go down,
and moving an organisation carries its whole subtree along."""

import pytest

from bot.db import SessionFactory
from bot.roster import import_rows
from tests.roster.roster_files import (
    ORG_HEADER,
    STREET_ORG_ROWS,
    STREET_ORGS,
    org_paths,
    people_state,
    person,
    person_rows,
)


def orgs(*table: list[str]) -> list[dict[str, object]]:
    return [dict(zip(ORG_HEADER, row, strict=True)) for row in table]


async def test_a_parent_may_appear_later_in_the_sheet(session_factory: SessionFactory) -> None:
    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs(*reversed(STREET_ORGS)))

    assert report.ok, report.render()
    assert (await org_paths(session_factory))["C02B1"] == "/D01/S01/C02/C02B1/"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["C09", "某社区", "社区", "X01"], "上级编码 X01 不存在"),
        (["C09", "某社区", "社区", ""], "缺少上级编码：只有整棵组织树的根可以不填，根已是 D01"),
        (["C09", "某社区", "居委会", "S01"], "层级「居委会」不认识，应为 市/区/街道/社区/党支部/党小组/驻区单位"),
        (["C09", "某社区", "社区", "C01B1"], "社区不能设在党支部之下（上级 C01B1）"),
        (["C09", "某社区", "社区", "U01"], "上级编码 U01 是驻区单位，不能作上级"),
        (["U09", "某医院", "驻区单位", "C01B1"], "驻区单位的上级必须是街道或社区（C01B1 是党支部）"),
        (["C01", "阳光社区", "街道", "D01"], "组织 C01 已存在，层级是社区，不能改为街道"),
        (["C0 9", "某社区", "社区", "S01"], "编码「C0 9」不合格：最长 32 个字符，不能有空格和 / @ ; , 、"),
        (["S01", "朝阳街道", "街道", "S01"], "上级编码不能是自己"),
    ],
)
async def test_a_bad_organisation_row_is_rejected_with_a_reason(
    session_factory: SessionFactory, row: list[str], reason: str
) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=[])

    report = await import_rows(session_factory=session_factory, org_rows=orgs(row), person_rows=[])

    assert [(r.line, r.reason) for r in report.rejected] == [(2, reason)]


async def test_a_cycle_is_rejected_on_every_row_in_it(session_factory: SessionFactory) -> None:
    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs(
        ["D01", "示范区", "区", ""], ["B1", "甲支部", "党支部", "B2"], ["B2", "乙支部", "党支部", "B1"],
    ))

    assert [r.reason for r in report.rejected] == ["上级关系成环：B1 → B2 → B1", "上级关系成环：B2 → B1 → B2"]


async def test_a_branch_may_sit_directly_under_a_street(session_factory: SessionFactory) -> None:
    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=[
        *STREET_ORG_ROWS, *orgs(["S01JG", "朝阳街道机关党支部", "党支部", "S01"]),
    ])

    assert report.ok, report.render()


async def test_moving_a_community_to_another_street_moves_its_whole_subtree(
    session_factory: SessionFactory,
) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS,
                      person_rows=person_rows(person("张伟", "13900000001", "C01B1G1")))

    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs(
        ["S02", "青山街道", "街道", "D01"], ["C01", "阳光社区（新）", "社区", "S02"],
    ))

    assert (report.orgs.created, report.orgs.updated) == (1, 1), report.render()
    paths = await org_paths(session_factory)
    assert paths["C01"] == "/D01/S02/C01/"
    assert paths["C01B1G1"] == "/D01/S02/C01/C01B1/C01B1G1/"
    assert paths["C02B1"] == "/D01/S01/C02/C02B1/"
    assert (await people_state(session_factory))["13900000001"].primary == "C01B1G1"


async def test_a_new_city_above_the_district_becomes_the_root(session_factory: SessionFactory) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=[])

    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs(
        ["D01", "示范区", "区", "M01"], ["M01", "示范市", "市", ""],
    ))

    assert report.ok, report.render()
    assert (await org_paths(session_factory))["C01B1G1"] == "/M01/D01/S01/C01/C01B1/C01B1G1/"
