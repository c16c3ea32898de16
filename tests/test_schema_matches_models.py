"""The migrations build exactly the tables the models describe (a column or table added to a model
without its migration would fail only on a customer's database)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)


async def test_the_migrated_database_has_every_table_and_column_of_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata))
    tables_and_columns = [d for d in diffs if isinstance(d, tuple) and d[0] in (
        "add_table", "remove_table", "add_column", "remove_column")]
    assert tables_and_columns == []
