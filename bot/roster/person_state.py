"""What the roster says about one person, in organisation and unit codes: the shape a row is checked
into and the shape the database is compared with (equal states mean the row changes nothing)."""

from dataclasses import dataclass

from bot.roster.readers import RosterRow
from models.person import PersonKind, RoleKind
from models.roster import PersonRecord

FLAGS = {"is_mobile": "流动党员", "is_in_service": "在职党员", "is_retired": "离退休"}


@dataclass(frozen=True, slots=True)
class PersonState:
    """Everything the roster says about a person, in organisation and unit codes."""

    name: str
    kind: PersonKind
    primary: str
    participating: frozenset[str]
    roles: frozenset[tuple[RoleKind, str]]
    is_mobile: bool
    is_in_service: bool
    is_retired: bool
    report_org: str | None
    unit: str | None
    work_userid: str | None


@dataclass(slots=True)
class PersonSpec:
    row: RosterRow
    phone: str
    state: PersonState
    existing: PersonRecord | None
    needs_invite: bool = False
    changed: bool = True


def current_state(p: PersonRecord, org_code: dict[int, str], unit_code: dict[int, str]) -> PersonState:
    primary = p.primary_org_id
    return PersonState(
        name=p.name, kind=p.kind, primary=org_code[primary] if primary else "",
        participating=frozenset(org_code[o] for o, (_, is_primary) in p.memberships.items() if not is_primary),
        roles=frozenset((kind, org_code[o]) for kind, o in p.roles),
        is_mobile=p.is_mobile, is_in_service=p.is_in_service, is_retired=p.is_retired,
        report_org=org_code[p.report_org_id] if p.report_org_id else None,
        unit=unit_code[p.unit_id] if p.unit_id else None, work_userid=p.work_userid,
    )
