"""Who answers for an organisation: the role holders of the nearest organisation at (or strictly
above) it that has any, those of the best rank there (secretaries before deputies before admins)."""

from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.organisation import Organisation
from models.person import Role, RoleKind

ROLE_RANK = {RoleKind.secretary: 0, RoleKind.deputy: 1, RoleKind.admin: 2}


def _codes(path: str, own: bool) -> list[str]:
    """The codes of the path's organisations, nearest first ("/A/B/C/": C, B, A; without C unless own)."""
    codes = [c for c in path.split("/") if c]
    return list(reversed(codes if own else codes[:-1]))


async def nearest_holders(session: AsyncSession, org_paths: Collection[str], *, own: bool,
                          excluding: Collection[int] = ()) -> dict[str, tuple[int | None, list[int]]]:
    """For each organisation path: the nearest organisation (itself too when `own`) with role holders
    other than `excluding`, and those of the best rank there; (None, []) when there is none. One query."""
    codes = sorted({code for path in org_paths for code in _codes(path, own)})
    holders: dict[str, list[tuple[int, int, int | None]]] = {}
    if codes:
        for code, org_id, kind, person_id in await session.exec(
            select(Organisation.code, Organisation.id, col(Role.kind), Role.person_id)
            .join(Role, col(Role.org_id) == Organisation.id).where(col(Organisation.code).in_(codes))
            .order_by(col(Role.id))
        ):
            if person_id not in excluding:
                holders.setdefault(code, []).append((ROLE_RANK[kind], person_id, org_id))
    found: dict[str, tuple[int | None, list[int]]] = {}
    for path in org_paths:
        found[path] = (None, [])
        for code in _codes(path, own):
            if here := holders.get(code):
                best = min(rank for rank, _p, _o in here)
                found[path] = (here[0][2], list(dict.fromkeys(p for rank, p, _o in here if rank == best)))
                break
    return found
