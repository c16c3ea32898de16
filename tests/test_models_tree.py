"""The organisation tree answers subtree and path-to-root questions."""

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Organisation, OrgLevel
from models.organisation import child_path, subtree


async def _add(session: AsyncSession, code: str, level: OrgLevel, parent: Organisation | None) -> Organisation:
    org = Organisation(code=code, name=code, level=level, parent_id=parent.id if parent else None,
                       path=child_path(parent, code))
    session.add(org)
    await session.flush()
    return org


async def test_a_street_sees_its_communities_but_not_its_neighbours(session: AsyncSession) -> None:
    district = await _add(session, "D1", OrgLevel.district, None)
    s1 = await _add(session, "S1", OrgLevel.street, district)
    s2 = await _add(session, "S2", OrgLevel.street, district)
    await _add(session, "C1", OrgLevel.community, s1)
    await _add(session, "C2", OrgLevel.community, s2)
    # A code that is a prefix of another must not leak: S1 vs S10.
    s10 = await _add(session, "S10", OrgLevel.street, district)
    await _add(session, "C10", OrgLevel.community, s10)
    await session.commit()

    assert [o.code for o in await subtree(session=session, root=s1)] == ["S1", "C1"]
    assert len(await subtree(session=session, root=district)) == 7
