"""The organisation tree (市 → 区 → 街道 → 社区 → 党支部 → 党小组) and units based in an area (驻区单位)."""

from enum import StrEnum

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession


class OrgLevel(StrEnum):
    city = "city"
    district = "district"
    street = "street"
    community = "community"
    branch = "branch"
    group = "group"


# The level a child may have under each parent level; a branch may also sit directly under a street or
# district (机关党支部), so the rule is "strictly deeper", checked by rank.
LEVEL_RANK = {lvl: i for i, lvl in enumerate(OrgLevel)}
LEVEL_NAMES = {
    OrgLevel.city: "市",
    OrgLevel.district: "区",
    OrgLevel.street: "街道",
    OrgLevel.community: "社区",
    OrgLevel.branch: "党支部",
    OrgLevel.group: "党小组",
}


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=100)
    level: OrgLevel
    parent_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # Materialised path of codes, "/D01/S01/C01/": a subtree is one indexed prefix match.
    path: str = Field(index=True, max_length=400)
    # The webhook key of the organisation's WeCom group robot: the last channel of the fallback chain.
    robot_key: str | None = Field(default=None, max_length=100)


class Unit(SQLModel, table=True):
    """驻区单位: a unit based in a street or community, whose representatives rate its work."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=100)
    org_id: int = Field(foreign_key="organisation.id", index=True)


def child_path(parent: Organisation | None, code: str) -> str:
    return f"{parent.path if parent else '/'}{code}/"


async def get_org_by_code(*, session: AsyncSession, code: str) -> Organisation | None:
    return (await session.exec(select(Organisation).where(Organisation.code == code))).first()


async def subtree(*, session: AsyncSession, root: Organisation) -> list[Organisation]:
    """The organisation and everything below it, parents before children."""
    rows = await session.exec(
        select(Organisation).where(in_subtree_of(root.path)).order_by(Organisation.path)
    )
    return list(rows)


def in_subtree(org_path: str, root_path: str) -> bool:
    """The organisation at `org_path` is the one at `root_path` or below it (paths are "/D01/S01/")."""
    return org_path.startswith(root_path)


def in_subtree_of(root_path: str) -> ColumnElement[bool]:
    """SQL: the organisation is the one at `root_path` or below it."""
    return col(Organisation.path).startswith(root_path)
