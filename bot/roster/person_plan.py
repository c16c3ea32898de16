"""People-sheet rows checked against the organisation tree after the import and the people already
known. Phone is the natural key; a column the sheet lacks leaves that field as it is, a column it has
replaces it (memberships and roles included)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.roster.org_plan import OrgPlan
from bot.roster.person_check import RowChecker
from bot.roster.person_state import PersonSpec, current_state
from bot.roster.readers import RosterRow
from bot.roster.report import Counts, RejectedRow
from models.person import PersonKind
from models.roster import PersonRecord, RosterSnapshot


@dataclass(slots=True)
class PeoplePlan:
    specs: list[PersonSpec] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def invite_codes(self) -> int:
        return sum(s.needs_invite for s in self.specs)


def plan_people(
    rows: list[RosterRow], snapshot: RosterSnapshot, orgs: OrgPlan, tick: Callable[[], object]
) -> PeoplePlan:
    plan = PeoplePlan()
    checker = RowChecker(snapshot, orgs)
    accepted: list[PersonSpec] = []
    for row in rows:
        spec, problems = checker.check(row)
        tick()
        if problems or spec is None:
            plan.rejected.append(RejectedRow(row.source, row.line, "；".join(problems)))
        else:
            accepted.append(spec)
    # A WeCom userid may move from one person to another in the same file; rejecting the row that
    # frees it makes the taker collide again, so repeat until nothing changes.
    while True:
        freed = {s.existing.work_userid for s in accepted
                 if s.existing and s.existing.work_userid and s.existing.work_userid != s.state.work_userid}
        clashes = {id(s): owner for s in accepted if (owner := _userid_owner(s, snapshot, freed))}
        if not clashes:
            break
        for s in [s for s in accepted if id(s) in clashes]:
            owner = clashes[id(s)]
            plan.rejected.append(RejectedRow(s.row.source, s.row.line, f"企业微信账号 {s.state.work_userid} "
                                             f"已属于{owner.name}（手机 {_mask(owner.phone)}）"))
            accepted.remove(s)
    plan.rejected.sort(key=lambda r: (r.file, r.line))
    plan.specs = accepted
    plan.counts.rejected = len(plan.rejected)
    org_code, unit_code = snapshot.org_codes_by_id(), snapshot.unit_codes_by_id()
    for s in accepted:
        s.needs_invite = s.state.kind == PersonKind.member and not (
            s.existing and (s.existing.invite_code or s.existing.is_bound)
        )
        s.changed = s.existing is None or s.needs_invite or current_state(s.existing, org_code, unit_code) != s.state
        if s.existing is None:
            plan.counts.created += 1
        elif s.changed:
            plan.counts.updated += 1
        else:
            plan.counts.unchanged += 1
    return plan


def _userid_owner(spec: PersonSpec, snapshot: RosterSnapshot, freed: set[str]) -> PersonRecord | None:
    uid = spec.state.work_userid
    owner = snapshot.work_userids.get(uid) if uid else None
    if owner is None or owner is spec.existing or uid in freed:
        return None
    return owner


def _mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone else "无"
