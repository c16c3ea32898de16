"""Notices (通知) and tasks (任务) a secretary sends down their part of the tree."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Urgency(StrEnum):
    normal = "normal"  # 普通: held through quiet hours
    urgent = "urgent"  # 紧急 (emergency, 防汛): goes out at once


class Who(StrEnum):
    """Who a notice is for, stored by name in `Notice.audience["who"]` (the chat's menu numbers are
    the chat's own business). The order is the chat menu's."""

    members = "党员"
    residents = "居民"
    unit_reps = "驻区单位代表"
    secretaries = "书记"  # of the chosen organisations' subtrees; a task: of the chosen organisations
    mobile_members = "流动党员"


class NoticeStatus(StrEnum):
    draft = "draft"  # being composed in the chat, step by step
    confirmed = "confirmed"  # 确认: recipients resolved, delivery rows written
    cancelled = "cancelled"  # 取消


class Notice(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)  # the issuing organisation
    author_person_id: int = Field(foreign_key="person.id")
    text: str = Field(max_length=2000)
    urgency: Urgency = Urgency.normal
    wants_receipt: bool = True  # members answer 收到
    deadline: datetime | None = None  # set: a task, members answer 完成
    # Who: {"org_ids": [...], "who": [Who names]}, as chosen in the chat, the API or the CLI.
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # 下发: a task passed down from a higher level's task.
    parent_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    status: NoticeStatus = NoticeStatus.draft
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None

    @property
    def who(self) -> list[Who]:
        return [Who(w) for w in (self.audience or {}).get("who", [])]

    @property
    def target_org_ids(self) -> list[int]:
        return [int(i) for i in (self.audience or {}).get("org_ids", [])]
