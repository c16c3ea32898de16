"""One people-sheet row → a PersonState, or every reason it cannot be imported. A column the sheet
lacks keeps the person's current value; a column it has replaces it."""

from dataclasses import dataclass, field

from bot.roster.columns import KINDS, is_work_userid, normalise_phone, parse_flag, split_list, split_roles
from bot.roster.org_plan import OrgPlan, where
from bot.roster.person_state import FLAGS, PersonSpec, PersonState, current_state
from bot.roster.readers import RosterRow
from models.organisation import LEVEL_NAMES, OrgLevel
from models.person import PERSON_KIND_NAMES, PersonKind, RoleKind
from models.roster import RosterSnapshot

OFFICER_ROLES = (RoleKind.secretary, RoleKind.deputy)


@dataclass(slots=True)
class _Row:
    row: RosterRow
    old: PersonState | None  # what the database says now, for the columns the sheet lacks
    kind: PersonKind = PersonKind.member
    problems: list[str] = field(default_factory=list)

    def value(self, column: str, current: str | None) -> str | None:
        return self.row.values[column] if column in self.row.values else current

    @property
    def kind_name(self) -> str:
        return PERSON_KIND_NAMES[self.kind]


class RowChecker:
    """Checks rows in file order, remembering phones and WeCom userids already claimed by earlier rows."""

    def __init__(self, snapshot: RosterSnapshot, orgs: OrgPlan) -> None:
        self.snapshot, self.orgs = snapshot, orgs
        self.org_code, self.unit_code = snapshot.org_codes_by_id(), snapshot.unit_codes_by_id()
        self.phones: dict[str, RosterRow] = {}
        self.userids: dict[str, RosterRow] = {}

    def check(self, row: RosterRow) -> tuple[PersonSpec | None, list[str]]:
        v = row.values
        name, primary = v.get("name", ""), v.get("org", "")
        phone, problems = self._phone(row)
        existing = self.snapshot.people.get(phone) if phone else None
        r = _Row(row, current_state(existing, self.org_code, self.unit_code) if existing else None, problems=problems)
        if not name:
            r.problems.append("缺少姓名")
        elif len(name) > 50:
            r.problems.append("姓名太长（最多 50 个字）")
        self._kind(r)
        if not primary:
            r.problems.append("缺少所属组织")
        else:
            self._org(r, primary, "所属组织")
        participating = self._participating(r, primary)
        roles = self._roles(r, primary)
        flags = self._flags(r)
        report_org = self._report_org(r, flags["is_in_service"])
        unit = self._unit(r)
        work_userid = self._work_userid(r)
        if r.problems or phone is None:
            return None, r.problems
        state = PersonState(
            name=name, kind=r.kind, primary=primary, participating=participating, roles=roles,
            report_org=report_org, unit=unit, work_userid=work_userid, **flags,
        )
        return PersonSpec(row, phone, state, existing), []

    def _phone(self, row: RosterRow) -> tuple[str | None, list[str]]:
        raw = row.values.get("phone", "")
        phone = normalise_phone(raw)
        if not raw:
            return None, ["缺少手机号"]
        if phone is None:
            return None, [f"手机号格式不对（{raw}）"]
        if phone in self.phones:
            return phone, [f"手机号 {phone} 与{where(self.phones[phone], row)}重复"]
        self.phones[phone] = row
        return phone, []

    def _kind(self, r: _Row) -> None:
        text = r.row.values.get("kind", "")
        kind = KINDS.get(text.casefold())
        if not text:
            r.problems.append("缺少类别")
        elif kind is None:
            r.problems.append(f"类别「{text}」不认识，应为 党员/居民/驻区单位代表")
        r.kind = kind or PersonKind.member

    def _org(self, r: _Row, code: str, label: str) -> bool:
        if code in self.orgs.levels:
            return True
        if code in self.orgs.unit_orgs:
            r.problems.append(f"{label} {code} 是驻区单位，不是组织")
        elif code in self.orgs.failed:
            r.problems.append(f"{label} {code} 那一行有错误（{where(self.orgs.failed[code], r.row)}）")
        else:
            r.problems.append(f"{label} {code} 不存在")
        return False

    def _participating(self, r: _Row, primary: str) -> frozenset[str]:
        if "orgs" not in r.row.values:
            return r.old.participating - {primary} if r.old else frozenset()
        codes = frozenset(c for c in split_list(r.row.values["orgs"]) if c != primary)
        for code in sorted(codes):
            self._org(r, code, "参加组织")
        return codes

    def _roles(self, r: _Row, primary: str) -> frozenset[tuple[RoleKind, str]]:
        roles = set(r.old.roles) if r.old and "roles" not in r.row.values else set()
        for token in split_roles(r.row.values.get("roles", "")):
            org = token.org_code or primary  # "书记" alone: secretary of the primary organisation
            if token.kind is None:
                r.problems.append(f"职务「{token.text}」不认识，应为 书记/副书记/管理员，可加 @组织编码")
            elif token.org_code and org not in self.orgs.levels:
                r.problems.append(f"职务「{token.text}」的组织 {org} 不在组织树中")
            else:
                roles.add((token.kind, org))
        if r.kind != PersonKind.member and any(kind in OFFICER_ROLES for kind, _ in roles):
            r.problems.append(f"只有党员可以担任书记或副书记（此人类别是{r.kind_name}）")
        return frozenset(roles)

    def _flags(self, r: _Row) -> dict[str, bool]:
        flags: dict[str, bool] = {}
        for f, label in FLAGS.items():
            given = f in r.row.values
            parsed = parse_flag(r.row.values[f]) if given else bool(r.old and getattr(r.old, f))
            if parsed is None:
                r.problems.append(f"「{label}」一栏应填 是 或 否（{r.row.values[f]}）")
            # A member who becomes a resident drops the flags the sheet did not mention.
            flags[f] = bool(parsed) and (r.kind == PersonKind.member or given)
        if r.kind != PersonKind.member and (marked := [FLAGS[f] for f, on in flags.items() if on]):
            r.problems.append(f"{r.kind_name}不能标记为{'、'.join(marked)}（只有党员可以）")
        if flags["is_in_service"] and flags["is_retired"]:
            r.problems.append("在职党员和离退休不能同时为「是」")
        return flags

    def _report_org(self, r: _Row, in_service: bool) -> str | None:
        code = r.value("report_org", r.old.report_org if r.old else None)
        if not in_service:
            if r.row.values.get("report_org"):
                r.problems.append("填写了报到社区，但「在职党员」一栏不是「是」")
            return None
        if not code:
            r.problems.append("在职党员需要填写报到社区")
        elif self._org(r, code, "报到社区") and (level := self.orgs.levels[code]) != OrgLevel.community:
            r.problems.append(f"报到社区 {code} 不是社区（是{LEVEL_NAMES[level]}）")
        return code or None

    def _unit(self, r: _Row) -> str | None:
        code = r.value("unit", r.old.unit if r.old else None)
        if r.kind != PersonKind.unit_rep:
            if r.row.values.get("unit"):
                r.problems.append(f"只有驻区单位代表填写单位（此人类别是{r.kind_name}）")
            return None
        if not code:
            r.problems.append("驻区单位代表需要填写单位编码")
        elif code not in self.orgs.unit_orgs:
            failed = self.orgs.failed.get(code)
            r.problems.append(
                f"单位 {code} 那一行有错误（{where(failed, r.row)}）" if failed else f"单位编码 {code} 不存在"
            )
        return code or None

    def _work_userid(self, r: _Row) -> str | None:
        if "work_userid" not in r.row.values:
            return r.old.work_userid if r.old else None
        userid = r.row.values["work_userid"] or None
        if userid is None:
            return None
        if not is_work_userid(userid):
            r.problems.append(f"企业微信账号「{userid}」不合格（字母、数字和 _ . @ -，最长 64 位）")
        elif userid in self.userids:
            r.problems.append(f"企业微信账号 {userid} 与{where(self.userids[userid], r.row)}重复")
        else:
            self.userids[userid] = r.row
        return userid
