"""The roster file format: which headers make an organisation sheet or a people sheet, and how one cell
is read (full-width characters, Excel numbers, 是/否, lists of codes)."""

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from models.organisation import OrgLevel
from models.person import PersonKind, RoleKind


class SheetKind(StrEnum):
    orgs = "组织"
    people = "人员"


# field → accepted headers; the first is what export writes.
ORG_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "组织编码", "code"),
    "name": ("名称", "组织名称", "name"),
    "level": ("层级", "level"),
    "parent": ("上级编码", "上级组织编码", "parent", "parent_code"),
    # Optional: the WeCom group robot's webhook key (or its whole address). A secret, so export leaves
    # it out; an empty cell keeps the key the organisation has.
    "robot_key": ("群机器人", "群机器人key", "robot_key", "webhook"),
}
NOT_EXPORTED = frozenset({"robot_key"})
PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "phone": ("手机", "手机号", "手机号码", "phone"),
    "kind": ("类别", "kind"),
    "org": ("所属组织", "org", "primary_org"),
    "orgs": ("参加组织", "orgs", "participating"),
    "roles": ("职务", "roles"),
    "is_mobile": ("流动党员", "is_mobile", "mobile_member"),
    "is_in_service": ("在职党员", "is_in_service", "in_service"),
    "is_retired": ("离退休", "is_retired", "retired"),
    "report_org": ("报到社区", "report_org", "report_community"),
    "unit": ("单位", "unit"),
    "work_userid": ("企业微信账号", "work_userid", "wecom_userid", "wecom"),
}
COLUMNS = {SheetKind.orgs: ORG_COLUMNS, SheetKind.people: PERSON_COLUMNS}
REQUIRED = {SheetKind.orgs: {"code", "name", "level", "parent"}, SheetKind.people: {"name", "phone", "kind", "org"}}
INVITE_CODE_HEADER = "邀请码"  # written by export for the secretary to hand out; ignored on import

UNIT_LEVEL = "驻区单位"  # an organisation-sheet row of this level is a Unit, not an Organisation
LEVELS: dict[str, OrgLevel | None] = {
    "市": OrgLevel.city, "区": OrgLevel.district, "街道": OrgLevel.street, "社区": OrgLevel.community,
    "党支部": OrgLevel.branch, "支部": OrgLevel.branch, "党小组": OrgLevel.group, UNIT_LEVEL: None,
    **{lvl.value: lvl for lvl in OrgLevel}, "unit": None,
}
KINDS: dict[str, PersonKind] = {
    "党员": PersonKind.member, "居民": PersonKind.resident, "驻区单位代表": PersonKind.unit_rep,
    "单位代表": PersonKind.unit_rep, **{k.value: k for k in PersonKind},
}
ROLES: dict[str, RoleKind] = {
    "书记": RoleKind.secretary, "副书记": RoleKind.deputy, "管理员": RoleKind.admin, **{r.value: r for r in RoleKind},
}
_TRUE = {"是", "1", "y", "yes", "true", "t", "√", "✓"}
_FALSE = {"否", "0", "n", "no", "false", "f", "×", "✗", ""}

_PHONE = re.compile(r"1[3-9]\d{9}")
_PHONE_NOISE = re.compile(r"[\s\-()]")
_CODE = re.compile(r"[^\s/@;,、]{1,32}")
_WORK_USERID = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
_ROBOT_KEY = re.compile(r"[A-Za-z0-9\-]{8,100}")
_ROBOT_URL_KEY = re.compile(r"[?&]key=([^&#]*)")
_LIST_SEP = re.compile(r"[;,、\s]+")  # after NFKC, ；and ，are ; and ,
_HEADER_HINT = re.compile(r"\(.*?\)|\*")  # "手机(必填)", "姓名*"


def clean(value: object) -> str:
    """One cell as text: Excel gives numbers, booleans and dates; people type full-width characters."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a numeric cell
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def header_key(header: object) -> str:
    return _header_key(header) if isinstance(header, str) else _header_key(clean(header))


@functools.lru_cache(maxsize=1024)  # the same few headers come with every in-memory row
def _header_key(header: str) -> str:
    return re.sub(r"\s+", "", _HEADER_HINT.sub("", clean(header))).casefold()


@functools.cache
def _lookup(kind: SheetKind) -> dict[str, str]:
    return {header_key(h): f for f, headers in COLUMNS[kind].items() for h in headers}


def recognise(headers: list[object]) -> tuple[SheetKind, dict[int, str]] | None:
    """The sheet kind and column index → field, when the row holds every required header of a kind."""
    for kind in (SheetKind.people, SheetKind.orgs):
        lookup = _lookup(kind)
        fields: dict[int, str] = {}
        for i, h in enumerate(headers):
            f = lookup.get(header_key(h))
            if f and f not in fields.values():
                fields[i] = f
        if REQUIRED[kind] <= set(fields.values()):
            return kind, fields
    return None


def fields_of(kind: SheetKind, row: dict[str, object]) -> dict[str, str]:
    """A header-keyed dict (Chinese or English headers) as field → cleaned text; unknown keys dropped."""
    lookup = _lookup(kind)
    return {lookup[header_key(k)]: clean(v) for k, v in row.items() if header_key(k) in lookup}


def normalise_phone(raw: str) -> str | None:
    s = _PHONE_NOISE.sub("", raw)
    for prefix in ("+86", "0086"):
        s = s.removeprefix(prefix)
    if len(s) == 13 and s.startswith("86"):
        s = s[2:]
    return s if _PHONE.fullmatch(s) else None


def is_code(value: str) -> bool:
    return bool(_CODE.fullmatch(value))


def is_work_userid(value: str) -> bool:
    return bool(_WORK_USERID.fullmatch(value))


def parse_robot_key(raw: str) -> str | None:
    """The key of "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…" or of the bare key;
    None when it is neither."""
    found = _ROBOT_URL_KEY.search(raw)
    key = found.group(1) if found else raw
    return key if _ROBOT_KEY.fullmatch(key) else None


def parse_flag(raw: str) -> bool | None:
    """None when the cell is neither yes nor no."""
    key = raw.casefold()
    return True if key in _TRUE else False if key in _FALSE else None


def split_list(raw: str) -> list[str]:
    return [item for item in _LIST_SEP.split(raw) if item]


@dataclass(frozen=True, slots=True)
class RoleToken:
    text: str  # as written, for the report
    kind: RoleKind | None  # None: not a role we know
    org_code: str | None  # None: the person's primary organisation


def split_roles(raw: str) -> list[RoleToken]:
    """"书记、副书记@C01" and "书记 @ C01" alike: an "@" glues the code to the role before it."""
    glued = re.sub(r"\s*@\s*", "@", raw)
    tokens = []
    for item in split_list(glued):
        name, _, code = item.partition("@")
        tokens.append(RoleToken(item, ROLES.get(name.casefold()), code or None))
    return tokens
