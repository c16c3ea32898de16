"""What the database commands of the CLI share: one session for the command's work, the engine
disposed afterwards, and one readable line (not a traceback) when the database cannot be used."""

import asyncio
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import create_engine, create_session_factory

EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE = 0, 1, 2


def run_with_session(database_url: str, command: Callable[[AsyncSession], Awaitable[int]]) -> int:
    async def run() -> int:
        engine = create_engine(database_url)
        try:
            async with create_session_factory(engine)() as session:
                return await command(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except SQLAlchemyError as exc:
        print(f"无法读写数据库：{str(getattr(exc, 'orig', exc)).strip()[:200]}（先运行 grassroots migrate？）",
              file=sys.stderr)
        return EXIT_UNUSABLE
