"""One-time links (后台) that open a web session scoped to an organisation's subtree."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow


class LoginToken(SQLModel, table=True):
    __tablename__ = "login_token"
    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the token in the link: a leaked database does not leak usable links.
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id")
    org_id: int = Field(foreign_key="organisation.id")
    expires_at: datetime
    used_at: datetime | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_login_token(*, session: AsyncSession, person_id: int, org_id: int, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(24)
    session.add(LoginToken(token_hash=hash_token(token), person_id=person_id, org_id=org_id, expires_at=utcnow() + ttl))
    await session.flush()
    return token


async def redeem_login_token(*, session: AsyncSession, token: str) -> LoginToken | None:
    """Marks the token used; None when unknown, expired or used before (one-time links)."""
    row = (await session.exec(select(LoginToken).where(LoginToken.token_hash == hash_token(token)))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    # The conditional UPDATE makes two simultaneous clicks on one link succeed only once.
    result = await session.exec(
        update(LoginToken)
        .where(col(LoginToken.id) == row.id, col(LoginToken.used_at).is_(None))
        .values(used_at=utcnow())
    )
    return row if result.rowcount == 1 else None
