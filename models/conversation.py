"""A step-by-step chat conversation (发通知 ...), kept in the database so that it survives a restart
and works whichever instance receives the next message. One open conversation per person."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow
from models.directory_version import note_directory_change

IDLE_LIMIT = timedelta(minutes=30)


class Conversation(SQLModel, table=True):
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    kind: str = Field(max_length=32)  # "notice"
    step: str = Field(max_length=32)  # the question the person is answering
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    updated_at: datetime = Field(default_factory=utcnow)

    def is_idle(self, now: datetime) -> bool:
        return now - self.updated_at > IDLE_LIMIT

    def advance(self, step: str, **data: Any) -> None:
        """Move to `step`, merging `data` (a new dict, so the JSON column is seen as changed)."""
        self.step = step
        self.data = {**self.data, **data}
        self.updated_at = utcnow()


async def open_conversation(*, session: AsyncSession, person_id: int) -> Conversation | None:
    return await session.get(Conversation, person_id)


async def start_conversation(
    *, session: AsyncSession, person_id: int, kind: str, step: str, data: dict[str, Any]
) -> Conversation:
    """Replaces any conversation the person still had open."""
    old = await session.get(Conversation, person_id)
    if old is not None:
        await session.delete(old)
        await session.flush()
    conv = Conversation(person_id=person_id, kind=kind, step=step, data=data)
    session.add(conv)
    # Whether someone is in a conversation is part of their profile in memory (the callback path must
    # not look it up per message), so every process reads this person again; its steps are not told.
    await note_directory_change(session=session, person_ids=[person_id])
    return conv


async def end_conversation(*, session: AsyncSession, conv: Conversation) -> None:
    await session.delete(conv)
    await note_directory_change(session=session, person_ids=[conv.person_id])
