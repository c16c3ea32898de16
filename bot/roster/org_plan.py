"""Organisation-sheet rows checked against the tree they would make: the whole sheet is resolved at
once (a parent may come later in the file), and a rejected row takes the rows below it along."""

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.roster.columns import LEVELS, is_code, parse_robot_key
from bot.roster.readers import RosterRow
from bot.roster.report import Counts, RejectedRow
from models.organisation import LEVEL_NAMES, LEVEL_RANK, OrgLevel
from models.roster import RosterSnapshot

UNIT_PARENT_LEVELS = (OrgLevel.street, OrgLevel.community)
LEVEL_CHOICES = "市/区/街道/社区/党支部/党小组/驻区单位"


@dataclass(slots=True)
class OrgSpec:
    row: RosterRow
    code: str
    name: str
    level: OrgLevel | None  # None: a 驻区单位 (Unit), not an Organisation
    parent: str  # "" only for the root of the tree
    robot_key: str = ""  # "": keep the organisation's group robot as it is

    @property
    def is_unit(self) -> bool:
        return self.level is None


@dataclass(slots=True)
class OrgPlan:
    creates: list[OrgSpec] = field(default_factory=list)  # parents before children
    updates: list[OrgSpec] = field(default_factory=list)
    unit_creates: list[OrgSpec] = field(default_factory=list)
    unit_updates: list[OrgSpec] = field(default_factory=list)
    levels: dict[str, OrgLevel] = field(default_factory=dict)  # every organisation after the import
    parents: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    unit_orgs: dict[str, str] = field(default_factory=dict)  # every unit after the import → its org code
    robot_keys: dict[str, str] = field(default_factory=dict)  # organisation code → group robot key to set
    failed: dict[str, RosterRow] = field(default_factory=dict)  # new codes whose row was rejected
    rejected: list[RejectedRow] = field(default_factory=list)
    orgs: Counts = field(default_factory=Counts)
    units: Counts = field(default_factory=Counts)


def where(earlier: RosterRow, row: RosterRow) -> str:
    return f"第 {earlier.line} 行" if earlier.source == row.source else f"{earlier.source} 第 {earlier.line} 行"


def plan_orgs(rows: list[RosterRow], snapshot: RosterSnapshot, tick: Callable[[], object]) -> OrgPlan:
    plan = OrgPlan()
    code_of = snapshot.org_codes_by_id()
    parents = {o.code: code_of[o.parent_id] if o.parent_id else "" for o in snapshot.orgs.values()}
    specs: dict[str, OrgSpec] = {}
    seen: dict[str, RosterRow] = {}

    def reject(row: RosterRow, reason: str, code: str, is_unit: bool) -> None:
        plan.rejected.append(RejectedRow(row.source, row.line, reason))
        (plan.units if is_unit else plan.orgs).rejected += 1
        if code and code not in snapshot.orgs and code not in specs:
            plan.failed.setdefault(code, row)

    for row in rows:
        spec, problems = _parse(row, snapshot, seen)
        tick()
        if problems:
            reject(row, "；".join(problems), spec.code if spec.code not in seen else "", spec.is_unit)
        else:
            specs[spec.code] = spec
        if spec.code and spec.code not in seen:
            seen[spec.code] = row

    # Rejecting a row changes the tree the others are checked against: repeat until nothing changes.
    while True:
        final_parents = parents | {c: s.parent for c, s in specs.items() if not s.is_unit}
        levels = {o.code: o.level for o in snapshot.orgs.values()}
        levels |= {c: s.level for c, s in specs.items() if s.level is not None}
        units = set(snapshot.units) | {c for c, s in specs.items() if s.is_unit}
        kept = [c for c, p in parents.items() if not p and (c not in specs or not specs[c].parent)]
        new_roots = [c for c, s in specs.items() if not s.parent and not s.is_unit]
        roots = set(kept) if kept else set(new_roots[:1])
        bad = {c: p for c, s in specs.items()
               if (p := _tree_problem(s, final_parents, levels, units, roots, plan.failed))}
        if not bad:
            break
        for code, problem in bad.items():
            spec = specs.pop(code)
            reject(spec.row, problem, code, spec.is_unit)

    plan.levels, plan.parents = levels, final_parents
    plan.paths = _paths(final_parents)
    plan.unit_orgs = {u.code: code_of[u.org_id] for u in snapshot.units.values()}
    for code, spec in specs.items():
        if spec.is_unit:
            plan.unit_orgs[code] = spec.parent
            old_unit = snapshot.units.get(code)
            changed = old_unit is not None and (old_unit.name, code_of[old_unit.org_id]) != (spec.name, spec.parent)
            _count(plan.units, spec, old_unit is None, changed, plan.unit_creates, plan.unit_updates)
        else:
            if spec.robot_key:
                plan.robot_keys[code] = spec.robot_key
            old_org = snapshot.orgs.get(code)
            changed = old_org is not None and (old_org.name, parents[code]) != (spec.name, spec.parent)
            _count(plan.orgs, spec, old_org is None, changed, plan.creates, plan.updates)
    plan.creates.sort(key=lambda s: plan.paths[s.code].count("/"))
    return plan


def _count(
    counts: Counts, spec: OrgSpec, created: bool, updated: bool, creates: list[OrgSpec], updates: list[OrgSpec]
) -> None:
    if created:
        counts.created += 1
        creates.append(spec)
    elif updated:
        counts.updated += 1
        updates.append(spec)
    else:
        counts.unchanged += 1


def _parse(row: RosterRow, snapshot: RosterSnapshot, seen: dict[str, RosterRow]) -> tuple[OrgSpec, list[str]]:
    v = row.values
    code, name, level_text, parent = (v.get(f, "") for f in ("code", "name", "level", "parent"))
    level = LEVELS.get(level_text.casefold(), OrgLevel.city)
    robot = v.get("robot_key", "")
    robot_key = parse_robot_key(robot) if robot else ""
    spec = OrgSpec(row, code, name, level, parent, robot_key or "")
    problems = []
    if robot_key is None:
        problems.append("群机器人 key 不合格：请填 webhook 地址或其中 key= 后面的一串字符")
    if not code:
        problems.append("缺少编码")
    elif not is_code(code):
        problems.append(f"编码「{code}」不合格：最长 32 个字符，不能有空格和 / @ ; , 、")
    elif code in seen:
        problems.append(f"编码 {code} 与{where(seen[code], row)}重复")
    if not name:
        problems.append("缺少名称")
    elif len(name) > 100:
        problems.append("名称太长（最多 100 个字）")
    if not level_text:
        problems.append("缺少层级")
    elif level_text.casefold() not in LEVELS:
        problems.append(f"层级「{level_text}」不认识，应为 {LEVEL_CHOICES}")
    elif (old := snapshot.orgs.get(code)) and level is None:
        problems.append(f"编码 {code} 已是组织「{old.name}」，不能改作驻区单位")
    elif old and old.level != level:
        problems.append(f"组织 {code} 已存在，层级是{LEVEL_NAMES[old.level]}，不能改为{level_text}")
    elif (unit := snapshot.units.get(code)) and level is not None:
        problems.append(f"编码 {code} 已是驻区单位「{unit.name}」，不能改作组织")
    if parent and not is_code(parent):
        problems.append(f"上级编码「{parent}」不合格")
    return spec, problems


def _tree_problem(
    spec: OrgSpec, parents: dict[str, str], levels: dict[str, OrgLevel], units: set[str],
    roots: set[str], failed: dict[str, RosterRow],
) -> str | None:
    p = spec.parent
    if not p:
        if spec.is_unit:
            return "驻区单位必须填写上级编码（所在的街道或社区）"
        if spec.code not in roots:
            return f"缺少上级编码：只有整棵组织树的根可以不填，根已是 {'、'.join(sorted(roots))}"
        return None
    if p == spec.code:
        return "上级编码不能是自己"
    if p not in levels:
        if p in units:
            return f"上级编码 {p} 是驻区单位，不能作上级"
        if p in failed:
            return f"上级组织 {p} 那一行有错误（{where(failed[p], spec.row)}）"
        return f"上级编码 {p} 不存在"
    chain, c = [spec.code], p
    while c and c not in chain:
        chain.append(c)
        c = parents.get(c, "")
    if c == spec.code:
        return f"上级关系成环：{' → '.join([*chain, c])}"
    parent_level = levels[p]
    if spec.level is None:
        if parent_level not in UNIT_PARENT_LEVELS:
            return f"驻区单位的上级必须是街道或社区（{p} 是{LEVEL_NAMES[parent_level]}）"
    elif LEVEL_RANK[spec.level] <= LEVEL_RANK[parent_level]:
        return f"{LEVEL_NAMES[spec.level]}不能设在{LEVEL_NAMES[parent_level]}之下（上级 {p}）"
    return None


def _paths(parents: dict[str, str]) -> dict[str, str]:
    """Materialised paths for the whole tree after the import ("/D01/S01/C01/")."""
    paths: dict[str, str] = {}
    for code in parents:
        chain, c = [], code
        while c and c not in paths:
            chain.append(c)
            c = parents[c]
            if len(chain) > len(parents):
                raise ValueError(f"organisation tree has a cycle through {code}")
        base = paths[c] if c else "/"
        for link in reversed(chain):
            base = paths[link] = f"{base}{link}/"
    return paths
