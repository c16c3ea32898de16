"""Append-only audit log of who did what."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.row_writes import RowWrite, table_of


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_person_id: int | None = Field(default=None, foreign_key="person.id")
    actor: str = Field(default="", max_length=100)  # "cli", "wechat:mp:<openid>", ...
    action: str = Field(max_length=64, index=True)
    org_id: int | None = Field(default=None, foreign_key="organisation.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record_audit(
    *,
    session: AsyncSession,
    action: str,
    actor: str = "",
    actor_person_id: int | None = None,
    org_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    entry = AuditEntry(action=action, actor=actor, actor_person_id=actor_person_id, org_id=org_id, detail=detail)
    session.add(entry)
    return entry


def audit_row(*, action: str, actor: str = "", actor_person_id: int | None = None, org_id: int | None = None,
              **detail: Any) -> RowWrite:
    """The same entry as a row of the inbound log's batch (models/row_writes.py)."""
    return RowWrite(table_of(AuditEntry), {"at": utcnow(), "actor_person_id": actor_person_id, "actor": actor,
                                           "action": action, "org_id": org_id, "detail": detail})
