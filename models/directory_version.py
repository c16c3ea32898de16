"""A single counter every process polls: bumped by any change to people, identities, memberships,
roles or open conversations, it tells each process that its who-is-who cache is stale."""

from sqlalchemy import update
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class DirectoryVersion(SQLModel, table=True):
    __tablename__ = "directory_version"
    id: int = Field(default=1, primary_key=True)
    version: int = 0


async def bump_directory_version(*, session: AsyncSession) -> None:
    await session.exec(update(DirectoryVersion).values(version=DirectoryVersion.version + 1))


async def read_directory_version(*, session: AsyncSession) -> int:
    row = await session.get(DirectoryVersion, 1)
    return row.version if row else 0
