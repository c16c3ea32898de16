"""Bearer tokens for the JSON API (`POST /api/notices`): each is scoped to one organisation's
subtree, like a secretary's role. Only a sha256 of the token is stored; revoked tokens stay for the
audit trail."""

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import utcnow


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=100)  # who or what uses it: "区委办公室 OA"
    # The secretary on whose behalf notices are sent (the notices' author); their role must still cover
    # the organisation when the token is used.
    person_id: int = Field(foreign_key="person.id", index=True)
    token_sha256: str = Field(unique=True, max_length=64)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def issue_token(
    *, session: AsyncSession, org_id: int, person_id: int, name: str, created_by: str = ""
) -> tuple[ApiToken, str]:
    """The plaintext is returned once and never stored: lose it and issue a new one."""
    plaintext = secrets.token_urlsafe(32)
    token = ApiToken(org_id=org_id, person_id=person_id, name=name, token_sha256=token_digest(plaintext),
                     created_by=created_by)
    session.add(token)
    await session.flush()
    return token, plaintext


async def find_active_token(*, session: AsyncSession, plaintext: str) -> ApiToken | None:
    """Looked up by digest through the unique index: no string comparison of secrets, so no timing leak."""
    if not plaintext:
        return None
    found = (await session.exec(select(ApiToken).where(ApiToken.token_sha256 == token_digest(plaintext)))).first()
    return found if found is not None and found.revoked_at is None else None


async def list_tokens(*, session: AsyncSession) -> list[ApiToken]:
    return list(await session.exec(select(ApiToken).order_by(col(ApiToken.id))))


async def revoke_token(*, session: AsyncSession, token_id: int) -> ApiToken | None:
    """Revoking twice keeps the first time; None when there is no such token."""
    token = await session.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
    return token
