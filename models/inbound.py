"""Inbound callback log: the durable dedupe record and the reply a retry must get again."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.clock import utcnow


class InboundStatus(StrEnum):
    received = "received"  # claimed, handler running
    replied = "replied"  # answered in the callback response
    deferred = "deferred"  # handler ran past the deadline: answered "success", reply goes through the API
    sent = "sent"  # the deferred reply went out through the API
    failed = "failed"  # the handler raised or the deferred send failed


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    # MsgId for messages; FromUserName + CreateTime + Event for events (see WECHAT.md).
    dedupe_key: str = Field(unique=True, max_length=200)
    platform: str = Field(max_length=8)
    from_user: str = Field(max_length=64, index=True)
    msg_type: str = Field(max_length=32)
    content: str = Field(default="", max_length=4000)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    status: InboundStatus = InboundStatus.received
    # The plaintext reply XML; a retry is answered with it (re-encrypted in safe mode).
    reply: str | None = None
    error: str | None = Field(default=None, max_length=500)
