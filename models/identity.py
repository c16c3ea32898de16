"""WeChat identities: (platform, app, openid/userid) → person."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Platform(StrEnum):
    mp = "mp"  # Official Account (公众号)
    work = "work"  # WeCom (企业微信)


class Identity(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("platform", "app_id", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: Platform
    app_id: str = Field(max_length=64)  # MP appid, or WeCom corpid
    external_id: str = Field(max_length=64)  # openid or userid
    # A follower who has not bound yet has no person.
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    following: bool = True
    followed_at: datetime | None = None
    unfollowed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
