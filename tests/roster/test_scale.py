"""A district's whole roster imports in seconds: existing people and organisations are loaded once
and written in bulk, never a query per row."""

import time

from bot.db import SessionFactory
from bot.roster import import_rows
from tests.roster.roster_files import count_people

PEOPLE = 10_000


def district() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    orgs: list[dict[str, object]] = [{"编码": "D01", "名称": "示范区", "层级": "区", "上级编码": ""}]
    branches = []
    for s in range(10):
        orgs.append({"编码": f"S{s}", "名称": f"第{s}街道", "层级": "街道", "上级编码": "D01"})
        for c in range(5):
            community = f"S{s}C{c}"
            orgs.append({"编码": community, "名称": f"第{s}街道第{c}社区", "层级": "社区", "上级编码": f"S{s}"})
            for b in range(2):
                branches.append((f"{community}B{b}", community))
                orgs.append({"编码": branches[-1][0], "名称": f"{community}第{b}支部", "层级": "党支部",
                             "上级编码": community})
    people = []
    for i in range(PEOPLE):
        branch, community = branches[i % len(branches)]
        member = i % 3 != 0
        people.append({
            "姓名": f"党员{i}" if member else f"居民{i}", "手机": f"139{i:08d}",
            "类别": "党员" if member else "居民",
            "所属组织": branch if member else community, "企业微信账号": f"user{i}" if i % 2 else "",
            "参加组织": branches[(i + 1) % len(branches)][0] if member and i % 5 == 0 else "",
            "职务": "书记" if member and i < len(branches) * 3 and i % 3 == 1 else "",
        })
    return orgs, people


async def test_ten_thousand_people_import_in_seconds_and_reimport_faster(session_factory: SessionFactory) -> None:
    orgs, people = district()

    started = time.monotonic()
    first = await import_rows(session_factory=session_factory, org_rows=orgs, person_rows=people)
    first_seconds = time.monotonic() - started
    started = time.monotonic()
    again = await import_rows(session_factory=session_factory, org_rows=orgs, person_rows=people)
    again_seconds = time.monotonic() - started

    assert first.ok and first.people.created == PEOPLE, first.render()
    assert again.people.unchanged == PEOPLE and not again.written
    assert await count_people(session_factory) == PEOPLE
    assert first_seconds < 15 and again_seconds < 10, (first_seconds, again_seconds)
