"""An organisation sheet may name each organisation's WeCom group robot (群机器人): its webhook address
or just the key. An empty cell keeps the robot the organisation has; export leaves the secret out."""

from pathlib import Path

from sqlmodel import select

from bot.db import SessionFactory
from bot.roster import export_roster, import_rows
from models.organisation import Organisation
from tests.roster.roster_files import ORG_HEADER, STREET_ORGS

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def orgs_with_robots(robots: dict[str, str]) -> list[dict[str, object]]:
    return [dict(zip([*ORG_HEADER, "群机器人"], [*row, robots.get(row[0], "")], strict=True)) for row in STREET_ORGS]


async def _robots(session_factory: SessionFactory) -> dict[str, str | None]:
    async with session_factory() as s:
        return dict((await s.exec(select(Organisation.code, Organisation.robot_key))).all())  # type: ignore[arg-type]


async def test_a_street_names_its_communities_group_robots(session_factory: SessionFactory, tmp_path: Path) -> None:
    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs_with_robots({
        "C01": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        "S01": "street-robot-key",
    }))
    assert report.ok, report.render()
    robots = await _robots(session_factory)
    assert (robots["C01"], robots["S01"], robots["C02"]) == (KEY, "street-robot-key", None)

    # Re-imported without the column (or with an empty cell), the robots stay.
    report = await import_rows(session_factory=session_factory, person_rows=[], org_rows=orgs_with_robots({}))
    assert report.ok, report.render()
    assert (await _robots(session_factory))["C01"] == KEY

    exported = "".join(p.read_text(encoding="utf-8-sig") for p in await export_roster(
        session_factory=session_factory, path=tmp_path / "out.csv"))
    assert "阳光社区" in exported and KEY not in exported and "群机器人" not in exported


async def test_a_robot_key_that_is_not_one_is_rejected(session_factory: SessionFactory) -> None:
    report = await import_rows(session_factory=session_factory, person_rows=[],
                               org_rows=orgs_with_robots({"C01": "见群里"}))

    assert [(r.line, r.reason) for r in report.rejected][:1] == [
        (4, "群机器人 key 不合格：请填 webhook 地址或其中 key= 后面的一串字符")
    ]
    assert (await _robots(session_factory)).get("C01") is None
