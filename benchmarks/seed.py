"""A small roster for the benchmark, written straight through the models: organisations, bound MP
members (two of them secretaries), followers who have not bound yet, and the openids of strangers who
never followed. The benchmark's messages come from these users, so the sender cache is warm after the
warm-up and the hot path never needs the database for who-is-who."""

import asyncio
import hashlib
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import create_engine, create_session_factory
from models import Identity, Membership, Organisation, OrgLevel, Person, PersonKind, Platform, Role, RoleKind
from models.directory import bump_directory_version
from models.organisation import child_path

BOUND_MEMBERS = 40
UNBOUND_FOLLOWERS = 8
STRANGERS = 8


def openid(kind: str, n: int) -> str:
    """A 28-character openid, like WeChat's."""
    return "o" + hashlib.sha1(f"{kind}-{n}".encode()).hexdigest()[:27]


@dataclass
class Users:
    bound: list[str] = field(default_factory=list)
    followers: list[str] = field(default_factory=list)
    strangers: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.bound, *self.followers, *self.strangers]


def users() -> Users:
    return Users(
        bound=[openid("member", i) for i in range(BOUND_MEMBERS)],
        followers=[openid("follower", i) for i in range(UNBOUND_FOLLOWERS)],
        strangers=[openid("stranger", i) for i in range(STRANGERS)],
    )


async def _org(s: AsyncSession, code: str, name: str, level: OrgLevel, parent: Organisation | None) -> Organisation:
    org = Organisation(
        code=code, name=name, level=level, parent_id=parent.id if parent else None, path=child_path(parent, code)
    )
    s.add(org)
    await s.flush()
    return org


async def seed(database_url: str, mp_appid: str) -> Users:
    who = users()
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as s:
            district = await _org(s, "BD01", "示范区", OrgLevel.district, None)
            street = await _org(s, "BS01", "朝阳街道", OrgLevel.street, district)
            communities = [
                await _org(s, "BC01", "阳光社区", OrgLevel.community, street),
                await _org(s, "BC02", "和平社区", OrgLevel.community, street),
            ]
            branches = [
                await _org(s, f"BB0{i + 1}", f"{c.name}第{i % 2 + 1}党支部", OrgLevel.branch, c)
                for i, c in enumerate(communities * 2)
            ]
            for i, oid in enumerate(who.bound):
                org = branches[i % len(branches)] if i >= 2 else communities[i]
                person = Person(name=f"党员{i:02d}", kind=PersonKind.member, phone=f"139{i:08d}")
                s.add(person)
                await s.flush()
                s.add(Membership(person_id=person.id, org_id=org.id, is_primary=True))  # type: ignore[arg-type]
                if i < 2:  # the first two are the communities' secretaries
                    s.add(Role(person_id=person.id, org_id=org.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
                s.add(Identity(platform=Platform.mp, app_id=mp_appid, external_id=oid, person_id=person.id))
            for oid in who.followers:
                s.add(Identity(platform=Platform.mp, app_id=mp_appid, external_id=oid))
            await bump_directory_version(session=s)
            await s.commit()
    finally:
        await engine.dispose()
    return who


if __name__ == "__main__":
    import sys

    asyncio.run(seed(sys.argv[1], sys.argv[2]))
