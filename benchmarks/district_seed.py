"""The district benchmark's roster, written into the models' tables (bulk INSERTs through SQLAlchemy, one
cached statement per table: ORM objects for 100,000+ people would take minutes), then the directory
version bumped as every roster change does.

The tree: district DD01 with three streets, each with branches: COLD (the cold-sender members), FIRST (the
members just imported with a WeCom userid, not yet bound) and BURST (the recipients of the 收到 notice,
with the district secretary who writes it); a notice to BURST reaches exactly its members.

Sets: every measured run uses its own senders, never seen by the freshly started server (and, for the
workloads that change the database, never used before): `sets` of each workload, each of `people`
senders, plus a few check senders per set for the reply check before the load (never the measured ones).

- cold set k, mode m: 75 % members bound to an MP openid, 12.5 % followers with an identity and no person,
  12.5 % openids the database has never seen;
- first-contact set k: people with `work_userid` and a primary membership, no identity;
- burst: `people` members bound once for all sets (half WeCom identities, half MP), who answer a new notice
  in every set.
- filler (for the 200,000-identity directory, workload 4): bound MP members added by `add_filler`.
"""

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import SQLModel

from bot.db import create_engine, create_session_factory
from emulator import EmulatorConfig
from models import Identity, Membership, Organisation, OrgLevel, Person, PersonKind, Platform, Role, RoleKind
from models.clock import utcnow
from models.directory import bump_directory_version
from models.organisation import child_path

BRANCHES = 10  # per street
CHECKS = 6  # check senders per set (never measured)
MODES = ("plain", "safe")
CHUNK = 5000


def openid(kind: str, n: int) -> str:
    """A 28-character openid, like WeChat's."""
    return "o" + hashlib.sha1(f"district-{kind}-{n}".encode()).hexdigest()[:27]


@dataclass
class ColdSet:
    bound: list[str] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)
    strangers: list[str] = field(default_factory=list)
    check: list[str] = field(default_factory=list)  # 2 bound, 2 followers, 2 strangers

    @property
    def all(self) -> list[str]:
        return [*self.bound, *self.followers, *self.strangers]


@dataclass
class Roster:
    people: int
    sets: int
    district_id: int = 0
    burst_org_code: str = "DS03"
    author_phone: str = "13900000000"  # the district secretary (for `grassroots notify --as`)
    author_id: int = 0
    cold: dict[tuple[int, str], ColdSet] = field(default_factory=dict)
    first: dict[int, list[str]] = field(default_factory=dict)  # set -> WeCom userids (measured)
    first_check: dict[int, list[str]] = field(default_factory=dict)
    burst: list[tuple[str, str]] = field(default_factory=list)  # (platform, id) of the measured recipients
    burst_check: list[tuple[str, str]] = field(default_factory=list)  # recipients used by the reply checks
    burst_person_of: dict[str, int] = field(default_factory=dict)
    identities: int = 0


def plan(people: int, sets: int, first: int | None = None) -> Roster:
    """Who is who, without the database (the request files are made from this). `first`: members per
    first-contact set (default `people`)."""
    r = Roster(people, sets)
    first = people if first is None else first
    n_follow = n_strange = people // 8
    n_bound = people - n_follow - n_strange
    for k in range(sets):
        for m in MODES:
            tag = f"{k}{m}"
            cs = ColdSet(
                bound=[openid(f"cold-{tag}-member", i) for i in range(n_bound)],
                followers=[openid(f"cold-{tag}-follower", i) for i in range(n_follow)],
                strangers=[openid(f"cold-{tag}-stranger", i) for i in range(n_strange)],
            )
            cs.check = [
                openid(f"cold-{tag}-check-{kind}", i) for kind in ("member", "follower", "stranger") for i in range(2)
            ]
            r.cold[(k, m)] = cs
        r.first[k] = [f"fc{k}u{i:05d}" for i in range(first)]
        r.first_check[k] = [f"fc{k}check{i}" for i in range(CHECKS)]
    half = people // 2
    r.burst = [("work", f"bw{i:05d}") for i in range(half)] + [
        ("mp", openid("burst-mp", i)) for i in range(people - half)
    ]
    r.burst_check = [
        ("work", f"bwcheck{i}") if i % 2 == 0 else ("mp", openid("burst-check", i)) for i in range(sets * CHECKS)
    ]
    return r


class Ids:
    """Explicit primary keys (bulk executemany without RETURNING is several times faster); PostgreSQL's
    sequences are moved past them at the end (`fix_sequences`)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    async def take(self, session: Any, table: type[SQLModel], n: int) -> list[int]:
        t = table.__table__  # type: ignore[attr-defined]
        if t.name not in self.next:
            self.next[t.name] = ((await session.execute(select(func.max(t.c.id)))).scalar() or 0) + 1
        first = self.next[t.name]
        self.next[t.name] = first + n
        return list(range(first, first + n))


IDS = Ids()


async def _insert(
    session: Any, table: type[SQLModel], rows: list[dict[str, Any]], returning: bool = False
) -> list[int]:
    """Bulk insert, one executemany per chunk; with `returning`, the rows get explicit ids (in row order)."""
    t = table.__table__  # type: ignore[attr-defined]
    ids: list[int] = []
    if returning:
        ids = await IDS.take(session, table, len(rows))
        rows = [{"id": i, **row} for i, row in zip(ids, rows, strict=True)]
    for i in range(0, len(rows), CHUNK):
        await session.execute(insert(t), rows[i : i + CHUNK])
    return ids


async def fix_sequences(session: Any) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in IDS.next:
        await session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT coalesce(max(id), 1) FROM {name}))")
        )
    IDS.next.clear()


def _person(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": PersonKind.member,
        "phone": None,
        "is_mobile": False,
        "is_in_service": False,
        "is_retired": False,
        "report_org_id": None,
        "unit_id": None,
        "invite_code": None,
        "work_userid": None,
        **extra,
    }


def _identity(platform: Platform, app_id: str, external_id: str, person_id: int | None) -> dict[str, Any]:
    now = utcnow()
    return {
        "platform": platform,
        "app_id": app_id,
        "external_id": external_id,
        "person_id": person_id,
        "following": True,
        "followed_at": now,
        "unfollowed_at": None,
        "created_at": now,
    }


async def _people(session: Any, branch_ids: list[int], specs: list[dict[str, Any]]) -> list[int]:
    ids = await _insert(session, Person, specs, returning=True)
    await _insert(
        session,
        Membership,
        [
            {"person_id": pid, "org_id": branch_ids[i % len(branch_ids)], "is_primary": True}
            for i, pid in enumerate(ids)
        ],
    )
    return ids


async def seed(database_url: str, people: int, sets: int, first: int | None = None) -> Roster:
    r = plan(people, sets, first)
    c = EmulatorConfig()
    IDS.next.clear()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as s:
            district = {
                "code": "DD01",
                "name": "示范区",
                "level": OrgLevel.district,
                "parent_id": None,
                "path": child_path(None, "DD01"),
                "robot_key": None,
            }
            (district_id,) = await _insert(s, Organisation, [district], returning=True)
            streets = [("DS01", "冷启动街道"), ("DS02", "新导入街道"), ("DS03", "通知街道")]
            street_ids = await _insert(
                s,
                Organisation,
                [
                    {
                        "code": code,
                        "name": name,
                        "level": OrgLevel.street,
                        "parent_id": district_id,
                        "path": f"/DD01/{code}/",
                        "robot_key": None,
                    }
                    for code, name in streets
                ],
                returning=True,
            )
            branches: dict[str, list[int]] = {}
            for (code, _), sid in zip(streets, street_ids, strict=True):
                branches[code] = await _insert(
                    s,
                    Organisation,
                    [
                        {
                            "code": f"{code}B{b:02d}",
                            "name": f"{code}第{b + 1}党支部",
                            "level": OrgLevel.branch,
                            "parent_id": sid,
                            "path": f"/DD01/{code}/{code}B{b:02d}/",
                            "robot_key": None,
                        }
                        for b in range(BRANCHES)
                    ],
                    returning=True,
                )
            r.district_id = district_id
            # The district secretary, a member of the BURST street (so a notice there reaches only its people).
            (author,) = await _insert(s, Person, [_person("区委书记", phone=r.author_phone)], returning=True)
            await _insert(s, Membership, [{"person_id": author, "org_id": street_ids[2], "is_primary": True}])
            await _insert(s, Role, [{"person_id": author, "org_id": district_id, "kind": RoleKind.secretary}])
            r.author_id = author
            identities: list[dict[str, Any]] = []
            # Cold senders: bound members and followers (strangers have no row at all).
            for (k, m), cs in r.cold.items():
                bound = [*cs.bound, *cs.check[:2]]
                ids = await _people(s, branches["DS01"], [_person(f"冷{k}{m}{i:05d}") for i in range(len(bound))])
                identities += [_identity(Platform.mp, c.mp_appid, o, pid) for o, pid in zip(bound, ids, strict=True)]
                identities += [_identity(Platform.mp, c.mp_appid, o, None) for o in [*cs.followers, *cs.check[2:4]]]
            # First contact: imported with a WeCom userid, no identity yet.
            for k, userids in r.first.items():
                every = [*userids, *r.first_check[k]]
                await _people(
                    s, branches["DS02"], [_person(f"新{k}-{i:05d}", work_userid=u) for i, u in enumerate(every)]
                )
            # 收到: bound members of the BURST street, half WeCom, half MP.
            recipients = [*r.burst, *r.burst_check]
            ids = await _people(
                s,
                branches["DS03"],
                [_person(f"通{i:05d}", work_userid=u if p == "work" else None) for i, (p, u) in enumerate(recipients)],
            )
            for (p, u), pid in zip(recipients, ids, strict=True):
                platform, app = (Platform.work, c.work_corpid) if p == "work" else (Platform.mp, c.mp_appid)
                identities.append(_identity(platform, app, u, pid))
                r.burst_person_of[u] = pid
            await _insert(s, Identity, identities)
            await bump_directory_version(session=s)
            await fix_sequences(s)
            await s.commit()
            r.identities = (await s.execute(select(func.count()).select_from(Identity.__table__))).scalar_one()
    finally:
        await engine.dispose()
    return r


async def add_filler(database_url: str, total_identities: int) -> int:
    """Bound MP members until the directory holds `total_identities` identities; returns how many exist."""
    c = EmulatorConfig()
    IDS.next.clear()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as s:
            have = (await s.execute(select(func.count()).select_from(Identity.__table__))).scalar_one()
            missing = total_identities - have
            if missing > 0:
                branch_ids = list(
                    (
                        await s.execute(
                            select(Organisation.__table__.c.id).where(Organisation.__table__.c.code.like("DS01B%"))
                        )
                    ).scalars()
                )
                for start in range(0, missing, 20_000):
                    n = min(20_000, missing - start)
                    ids = await _people(s, branch_ids, [_person(f"区{start + i:06d}") for i in range(n)])
                    await _insert(
                        s,
                        Identity,
                        [
                            _identity(Platform.mp, c.mp_appid, filler_openid(start + i), pid)
                            for i, pid in enumerate(ids)
                        ],
                    )
                await bump_directory_version(session=s)
                await fix_sequences(s)
                await s.commit()
            return (await s.execute(select(func.count()).select_from(Identity.__table__))).scalar_one()
    finally:
        await engine.dispose()


def filler_openid(i: int) -> str:
    return openid("filler", i)


if __name__ == "__main__":
    import sys

    roster = asyncio.run(seed(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    print(f"seeded {roster.identities} identities")
