"""People (党员, 居民, 驻区单位代表), their organisation memberships and their roles."""

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class PersonKind(StrEnum):
    member = "member"  # 党员
    resident = "resident"  # 居民
    unit_rep = "unit_rep"  # 驻区单位代表


class RoleKind(StrEnum):
    secretary = "secretary"  # 书记
    deputy = "deputy"  # 副书记
    admin = "admin"  # 管理员


PERSON_KIND_NAMES = {PersonKind.member: "党员", PersonKind.resident: "居民", PersonKind.unit_rep: "驻区单位代表"}
ROLE_NAMES = {RoleKind.secretary: "书记", RoleKind.deputy: "副书记", RoleKind.admin: "管理员"}


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    kind: PersonKind
    # The roster's natural key: a re-import matches people by mobile number. Residents who join by
    # scanning a QR code have none.
    phone: str | None = Field(default=None, unique=True, max_length=11)
    is_mobile: bool = False  # 流动党员
    is_in_service: bool = False  # 在职党员, reporting to a community (report_org_id)
    is_retired: bool = False  # 离退休
    report_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    # One-time code a member sends as "绑定 <code>" to link their WeChat; cleared once used.
    invite_code: str | None = Field(default=None, unique=True, max_length=12)
    # WeCom userid from the roster: a member who opens the WeCom app is bound automatically.
    work_userid: str | None = Field(default=None, unique=True, max_length=64)


class Membership(SQLModel, table=True):
    """一方隶属、参加多重组织生活: one primary organisation, any number of participating ones."""

    __table_args__ = (
        UniqueConstraint("person_id", "org_id"),
        Index(
            "uq_membership_one_primary",
            "person_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    is_primary: bool = False


class Role(SQLModel, table=True):
    """A role scoped to one organisation and its whole subtree."""

    __table_args__ = (UniqueConstraint("person_id", "org_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: RoleKind
