"""One-time links (后台) that open a web session scoped to an organisation's subtree."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class LoginToken(SQLModel, table=True):
    __tablename__ = "login_token"
    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the token in the link: a leaked database does not leak usable links.
    token_hash: str = Field(unique=True, max_length=64)
    person_id: int = Field(foreign_key="person.id")
    org_id: int = Field(foreign_key="organisation.id")
    expires_at: datetime
    used_at: datetime | None = None
