"""The access token of each WeChat app, shared by every process through the database."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_token"
    app_key: str = Field(primary_key=True, max_length=100)  # "mp:<appid>" or "work:<corpid>:<agentid>"
    token: str = Field(max_length=600)
    expires_at: datetime
    fetched_at: datetime
