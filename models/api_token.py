"""Bearer tokens for the JSON API (`POST /api/notices`): each is scoped to one organisation's
subtree, like a secretary's role. Only a sha256 of the token is stored; revoked tokens stay for the
audit trail."""

from datetime import datetime

from sqlmodel import Field, SQLModel

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
