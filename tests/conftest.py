from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory, create_engine, create_session_factory
from tests.db import fresh_database, migrated_template
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack, running_stack


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_template(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> str:
    """A migrated, empty database of this test's own."""
    return await fresh_database(template_database, tmp_path)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)


@pytest.fixture
async def session(session_factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def stack(engine: AsyncEngine, database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url) as running:
        yield running


@pytest.fixture
async def roster(stack: Stack) -> Roster:
    return await seed_small_roster(stack.sessions)
