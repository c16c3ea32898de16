"""Importing again updates people by phone: never a duplicate, never a second primary organisation,
never a new invite code for someone who has one."""

from pathlib import Path

from sqlalchemy import update
from sqlmodel import col, func, select

from bot.db import SessionFactory
from bot.roster import import_roster, import_rows
from models import AuditEntry, Identity, Person, Platform
from models.directory import read_directory_version
from models.person import RoleKind
from tests.roster.roster_files import (
    STREET_ORG_ROWS,
    count_people,
    invite_codes,
    people_state,
    person,
    person_rows,
    primaries,
    street_xlsx,
)


async def test_reimporting_the_same_file_changes_nothing_and_creates_no_duplicates(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    path = street_xlsx(tmp_path / "r.xlsx")
    await import_roster(session_factory=session_factory, paths=[path], progress=False)
    codes, state = await invite_codes(session_factory), await people_state(session_factory)
    async with session_factory() as session:
        version = await read_directory_version(session=session)

    report = await import_roster(session_factory=session_factory, paths=[path], progress=False)

    assert report.ok and not report.written and "没有变化" in report.render()
    assert (report.orgs.unchanged, report.units.unchanged, report.people.unchanged) == (7, 1, 6)
    assert await count_people(session_factory) == 6
    assert await invite_codes(session_factory) == codes
    assert await people_state(session_factory) == state
    async with session_factory() as session:
        assert await read_directory_version(session=session) == version
        assert (await session.exec(select(func.count()).select_from(AuditEntry))).one() == 1


async def test_an_import_is_audited_once_and_tells_the_callback_cache(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    await import_roster(session_factory=session_factory, paths=[street_xlsx(tmp_path / "r.xlsx")], progress=False)

    async with session_factory() as session:
        entry = (await session.exec(select(AuditEntry))).one()
        assert await read_directory_version(session=session) == 1
    assert entry.action == "roster.import" and entry.actor == "cli"
    assert entry.detail["files"] == ["r.xlsx"] and entry.detail["people"]["created"] == 6


async def test_a_member_moved_to_another_branch_has_exactly_one_primary_membership(
    session_factory: SessionFactory,
) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS,
                      person_rows=person_rows(person("李娜", "13900000002", "C01B1", 参加组织="C02B1")))

    # Moves to the branch she used to take part in; her old branch becomes the one she takes part in.
    report = await import_rows(session_factory=session_factory, org_rows=[],
                               person_rows=person_rows(person("李娜", "13900000002", "C02B1", 参加组织="C01B1")))

    assert report.people.updated == 1, report.render()
    li = (await people_state(session_factory))["13900000002"]
    assert (li.primary, li.participating) == ("C02B1", {"C01B1"})
    assert len(await primaries(session_factory, "13900000002")) == 1


async def test_roles_and_memberships_are_replaced_by_what_the_row_says(session_factory: SessionFactory) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=person_rows(
        person("刘强", "13900000004", "C02B1", 参加组织="C01B1", 职务="书记、副书记@C02"),
    ))

    await import_rows(session_factory=session_factory, org_rows=[], person_rows=person_rows(
        person("刘强", "13900000004", "C02B1", 职务="管理员@S01"),
    ))

    liu = (await people_state(session_factory))["13900000004"]
    assert liu.roles == {(RoleKind.admin, "S01")} and liu.participating == frozenset()


async def test_a_sheet_without_a_column_leaves_that_field_alone(session_factory: SessionFactory) -> None:
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=person_rows(
        person("刘强", "13900000004", "C02B1", 参加组织="C01B1", 职务="书记", 离退休="是", 企业微信账号="liuqiang"),
    ))

    # A street's simple list: name, phone, kind and organisation only.
    report = await import_rows(session_factory=session_factory, org_rows=[], person_rows=[
        {"姓名": "刘强", "手机": "13900000004", "类别": "党员", "所属组织": "C02B1"},
    ])

    assert report.people.unchanged == 1, report.render()
    liu = (await people_state(session_factory))["13900000004"]
    assert liu.roles == {(RoleKind.secretary, "C02B1")} and liu.participating == {"C01B1"}
    assert liu.is_retired and liu.work_userid == "liuqiang"


async def test_reimport_never_changes_an_invite_code_nor_gives_a_bound_member_a_new_one(
    session_factory: SessionFactory,
) -> None:
    people = person_rows(person("张伟", "13900000001", "C01B1"), person("李娜", "13900000002", "C01B1"))
    await import_rows(session_factory=session_factory, org_rows=STREET_ORG_ROWS, person_rows=people)
    before = await invite_codes(session_factory)
    async with session_factory() as session:  # 李娜 binds her WeChat: the code is used up
        li_id = (await session.exec(select(Person.id).where(Person.phone == "13900000002"))).one()
        session.add(Identity(platform=Platform.mp, app_id="wx1", external_id="o-li", person_id=li_id))
        await session.exec(update(Person).where(col(Person.id) == li_id).values(invite_code=None))  # type: ignore[call-overload]
        await session.commit()

    report = await import_rows(session_factory=session_factory, org_rows=[], person_rows=people)

    assert report.invite_codes == 0 and report.people.unchanged == 2
    assert await invite_codes(session_factory) == {"13900000001": before["13900000001"], "13900000002": None}


async def test_dry_run_reports_what_would_change_and_writes_nothing(
    session_factory: SessionFactory, tmp_path: Path
) -> None:
    report = await import_roster(session_factory=session_factory, paths=[street_xlsx(tmp_path / "r.xlsx")],
                                 dry_run=True, progress=False)

    assert report.ok and not report.written
    assert (report.orgs.created, report.people.created, report.invite_codes) == (7, 6, 4)
    assert "试运行" in report.render()
    assert await count_people(session_factory) == 0
