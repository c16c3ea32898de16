"""A bad roster row gets a line in the report, never a crash and never a silent drop; by default a
single bad row keeps the whole file out."""

from pathlib import Path

import pytest

from bot.db import SessionFactory
from bot.roster import import_roster, import_rows
from tests.roster.roster_files import (
    ORG_HEADER,
    PERSON_HEADER,
    STREET_ORG_ROWS,
    STREET_ORGS,
    count_people,
    invite_codes,
    org_paths,
    people_state,
    person,
    person_rows,
    write_csv,
)


async def test_a_row_with_a_bad_phone_is_reported_with_its_line_number_and_nothing_is_imported(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    orgs = write_csv(tmp_path / "orgs.csv", ORG_HEADER, STREET_ORGS)
    people = write_csv(tmp_path / "people.csv", PERSON_HEADER, [
        person(f"党员{i}", f"139000000{i:02d}", "C01B1") for i in range(10)
    ] + [person("钱七", "138123", "C01B1")])

    report = await import_roster(session_factory=session_factory, paths=[orgs, people], progress=False)

    assert not report.ok and not report.written
    assert [r.render() for r in report.rejected] == ["people.csv 第 12 行：手机号格式不对（138123）"]
    assert "people.csv 第 12 行：手机号格式不对（138123）" in report.render()
    assert await count_people(session_factory) == 0
    assert await org_paths(session_factory) == {}  # the good organisation rows are held back too


async def test_skip_bad_imports_the_good_rows_and_reports_the_rest(session_factory: SessionFactory) -> None:
    report = await import_rows(
        session_factory=session_factory, org_rows=STREET_ORG_ROWS, skip_bad=True,
        person_rows=person_rows(person("张伟", "13900000001", "C01B1"), person("李娜", "13900000002", "C99"),
                         person("王芳", "13900000003", "C02B1", 职务="书记、组长")),
    )

    assert report.written and not report.ok
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "所属组织 C99 不存在"),
        (4, "职务「组长」不认识，应为 书记/副书记/管理员，可加 @组织编码"),
    ]
    # A row goes in entirely or not at all: 王芳 is not imported without her roles.
    assert set(await people_state(session_factory)) == {"13900000001"}


async def test_a_duplicated_phone_in_the_file_is_rejected_on_its_second_line(session_factory: SessionFactory) -> None:
    report = await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=person_rows(
        person("张伟", "13900000001", "C01B1"), person("李娜", "13900000002", "C01B1"),
        person("张伟", "139-0000-0001", "C02B1"),
    ))

    assert [(r.line, r.reason) for r in report.rejected] == [(4, "手机号 13900000001 与第 2 行重复")]


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"姓名": ""}, "缺少姓名"),
        ({"手机": ""}, "缺少手机号"),
        ({"类别": "群众"}, "类别「群众」不认识，应为 党员/居民/驻区单位代表"),
        ({"所属组织": ""}, "缺少所属组织"),
        ({"所属组织": "U01"}, "所属组织 U01 是驻区单位，不是组织"),
        ({"参加组织": "C02B1、C77"}, "参加组织 C77 不存在"),
        ({"职务": "书记@X9"}, "职务「书记@X9」的组织 X9 不在组织树中"),
        ({"在职党员": "是"}, "在职党员需要填写报到社区"),
        ({"在职党员": "是", "报到社区": "C01B1"}, "报到社区 C01B1 不是社区（是党支部）"),
        ({"报到社区": "C01"}, "填写了报到社区，但「在职党员」一栏不是「是」"),
        ({"在职党员": "是", "报到社区": "C01", "离退休": "是"}, "在职党员和离退休不能同时为「是」"),
        ({"流动党员": "也许"}, "「流动党员」一栏应填 是 或 否（也许）"),
        ({"类别": "居民", "流动党员": "是"}, "居民不能标记为流动党员（只有党员可以）"),
        ({"类别": "居民", "职务": "书记"}, "只有党员可以担任书记或副书记（此人类别是居民）"),
        ({"类别": "驻区单位代表"}, "驻区单位代表需要填写单位编码"),
        ({"类别": "驻区单位代表", "单位": "U09"}, "单位编码 U09 不存在"),
        ({"单位": "U01"}, "只有驻区单位代表填写单位（此人类别是党员）"),
        ({"企业微信账号": "张 伟"}, "企业微信账号「张 伟」不合格（字母、数字和 _ . @ -，最长 64 位）"),
    ],
)
async def test_each_kind_of_bad_person_row_gets_a_specific_reason(
    session_factory: SessionFactory, columns: dict[str, str], reason: str
) -> None:
    report = await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=person_rows(
        person("张伟", "13900000001", "C01B1", **columns),
    ))

    assert [(r.file, r.line, r.reason) for r in report.rejected] == [("seed:人员", 2, reason)]
    assert await count_people(session_factory) == 0


async def test_a_wecom_userid_that_belongs_to_someone_else_is_rejected(session_factory: SessionFactory) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=person_rows(
        person("张伟", "13900000001", "C01B1", 企业微信账号="zhangwei"),
    ))

    report = await import_rows(session_factory=session_factory, org_rows=[], person_rows=person_rows(
        person("张薇", "13900000009", "C02B1", 企业微信账号="zhangwei"),
    ))

    assert [r.reason for r in report.rejected] == ["企业微信账号 zhangwei 已属于张伟（手机 139****0001）"]


async def test_two_people_may_swap_wecom_userids_in_one_import(session_factory: SessionFactory) -> None:
    first = person_rows(person("张伟", "13900000001", "C01B1", 企业微信账号="zw"),
                 person("李娜", "13900000002", "C01B1", 企业微信账号="ln"))
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=first)

    swapped = person_rows(person("张伟", "13900000001", "C01B1", 企业微信账号="ln"),
                   person("李娜", "13900000002", "C01B1", 企业微信账号="zw"))
    report = await import_rows(session_factory=session_factory, org_rows=[], person_rows=swapped)

    assert report.ok and report.people.updated == 2, report.render()
    people = await people_state(session_factory)
    assert (people["13900000001"].work_userid, people["13900000002"].work_userid) == ("ln", "zw")


async def test_people_below_a_rejected_organisation_row_are_rejected_with_the_reason(
    session_factory: SessionFactory,
) -> None:
    org_rows = [*STREET_ORG_ROWS, {"编码": "C03", "名称": "", "层级": "社区", "上级编码": "S01"}]
    report = await import_rows(session_factory=session_factory, org_rows=org_rows, skip_bad=True,
                               person_rows=person_rows(person("张伟", "13900000001", "C03")))

    assert [r.reason for r in report.rejected] == ["缺少名称", "所属组织 C03 那一行有错误（seed:组织 第 10 行）"]
    assert report.written and "C01" in await org_paths(session_factory)


async def test_when_the_database_refuses_a_write_nothing_is_half_imported(
    session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS[:3],
                      person_rows=person_rows(person("张伟", "13900000001", "C01")))
    [taken] = [c for c in (await invite_codes(session_factory)).values() if c]
    # As if another process had handed out the same code between our check and our write.
    monkeypatch.setattr("bot.roster.writer.new_invite_codes", lambda count, **_: [taken] * count)

    report = await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS,
                               person_rows=person_rows(person("李娜", "13900000002", "C02B1")))

    assert not report.ok and not report.written and report.error
    assert "所有改动已撤销" in report.render()
    assert set(await org_paths(session_factory)) == {"D01", "S01", "C01"}
    assert await count_people(session_factory) == 1
