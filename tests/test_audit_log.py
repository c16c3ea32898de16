"""Who did what stays on record: the database refuses to change or delete audit entries."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.db import SessionFactory
from models import record_audit


async def test_the_audit_log_cannot_be_rewritten(session_factory: SessionFactory) -> None:
    async with session_factory() as s:
        record_audit(session=s, action="identity.bind", actor="cli", via="test")
        await s.commit()

    for statement in ("UPDATE audit_entry SET action = 'nothing'", "DELETE FROM audit_entry"):
        async with session_factory() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.exec(text(statement))  # type: ignore[call-overload]
            await s.rollback()

    async with session_factory() as s:
        rows = (await s.exec(text("SELECT action FROM audit_entry"))).all()  # type: ignore[call-overload]
    assert [r[0] for r in rows] == ["identity.bind"]
