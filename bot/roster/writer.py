"""Applies checked plans to the database inside the caller's transaction, in bulk: organisations
(parents first, moved subtrees re-pathed), units, then people with their memberships and roles."""

from collections.abc import Callable
from itertools import groupby

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.roster.invite import new_invite_codes
from bot.roster.org_plan import OrgPlan
from bot.roster.person_plan import PeoplePlan
from bot.roster.person_state import PersonSpec
from models import roster as q
from models.organisation import Organisation
from models.person import PersonKind


async def write_orgs(*, session: AsyncSession, snapshot: q.RosterSnapshot, plan: OrgPlan) -> dict[str, int]:
    """Code → id of every organisation after the import."""
    ids = {code: o.id for code, o in snapshot.orgs.items()}
    for _, same_depth in groupby(plan.creates, key=lambda s: plan.paths[s.code].count("/")):
        rows = [
            {"code": s.code, "name": s.name, "level": s.level, "path": plan.paths[s.code],
             "parent_id": ids[s.parent] if s.parent else None}
            for s in same_depth
        ]
        ids |= await q.insert_organisations(session=session, rows=rows)
    names = {s.code: s.name for s in plan.updates}
    changed = []
    for code, old in snapshot.orgs.items():
        parent = plan.parents[code]
        new = (names.get(code, old.name), ids[parent] if parent else None, plan.paths[code])
        if new != (old.name, old.parent_id, old.path):  # renamed, moved, or below a moved organisation
            changed.append({"id": old.id, "name": new[0], "parent_id": new[1], "path": new[2]})
    await q.update_organisations(session=session, rows=changed)
    if plan.robot_keys:  # the group robots named in the sheet; an empty cell left the key alone
        await session.exec(
            update(Organisation),
            params=[{"id": ids[code], "robot_key": key} for code, key in plan.robot_keys.items()],
        )
    return ids


async def write_units(
    *, session: AsyncSession, snapshot: q.RosterSnapshot, plan: OrgPlan, org_ids: dict[str, int]
) -> dict[str, int]:
    ids = {code: u.id for code, u in snapshot.units.items()}
    ids |= await q.insert_units(
        session=session, rows=[{"code": s.code, "name": s.name, "org_id": org_ids[s.parent]} for s in plan.unit_creates]
    )
    await q.update_units(session=session, rows=[
        {"id": ids[s.code], "name": s.name, "org_id": org_ids[s.parent]} for s in plan.unit_updates
    ])
    return ids


async def write_people(
    *, session: AsyncSession, snapshot: q.RosterSnapshot, plan: PeoplePlan, org_ids: dict[str, int],
    unit_ids: dict[str, int], tick: Callable[[int], object],
) -> None:
    changed = [s for s in plan.specs if s.changed]
    codes = iter(new_invite_codes(plan.invite_codes, taken=set(snapshot.invite_codes)))
    inserts: list[dict] = []
    updates: list[dict] = []
    updates_with_code: list[dict] = []
    for s in changed:
        row = _person_row(s, org_ids, unit_ids)
        if s.needs_invite:
            row["invite_code"] = next(codes)
        if s.existing is None:
            inserts.append({"invite_code": None, **row})
        else:
            # An existing code is never written back: the member may be using it up right now.
            (updates_with_code if s.needs_invite else updates).append({"id": s.existing.id, **row})
    await q.release_work_userids(session=session, person_ids=[
        s.existing.id for s in changed
        if s.existing and s.existing.work_userid and s.existing.work_userid != s.state.work_userid
    ])
    for rows in (updates, updates_with_code):
        await q.update_people(session=session, rows=rows)
        tick(len(rows))
    person_ids = await q.insert_people(session=session, rows=inserts)
    tick(len(inserts))
    await _write_memberships(session, changed, person_ids, org_ids)
    await _write_roles(session, changed, person_ids, org_ids)


def _person_row(s: PersonSpec, org_ids: dict[str, int], unit_ids: dict[str, int]) -> dict:
    st = s.state
    return {
        "phone": s.phone, "name": st.name, "kind": st.kind, "is_mobile": st.is_mobile,
        "is_in_service": st.is_in_service, "is_retired": st.is_retired,
        "report_org_id": org_ids[st.report_org] if st.report_org else None,
        "unit_id": unit_ids[st.unit] if st.unit and st.kind == PersonKind.unit_rep else None,
        "work_userid": st.work_userid,
    }


async def _write_memberships(
    session: AsyncSession, specs: list[PersonSpec], person_ids: dict[str, int], org_ids: dict[str, int]
) -> None:
    deletes: list[int] = []
    demotes: list[int] = []
    promotes: list[int] = []
    inserts: list[dict] = []
    for s in specs:
        person_id = s.existing.id if s.existing else person_ids[s.phone]
        wanted = {org_ids[c]: False for c in s.state.participating} | {org_ids[s.state.primary]: True}
        have = s.existing.memberships if s.existing else {}
        deletes += [mid for org, (mid, _) in have.items() if org not in wanted]
        for org, primary in wanted.items():
            if org not in have:
                inserts.append({"person_id": person_id, "org_id": org, "is_primary": primary})
            elif have[org][1] != primary:
                (promotes if primary else demotes).append(have[org][0])
    await q.change_memberships(
        session=session, delete_ids=deletes, demote_ids=demotes, promote_ids=promotes, inserts=inserts
    )


async def _write_roles(
    session: AsyncSession, specs: list[PersonSpec], person_ids: dict[str, int], org_ids: dict[str, int]
) -> None:
    deletes, inserts = [], []
    for s in specs:
        person_id = s.existing.id if s.existing else person_ids[s.phone]
        wanted = {(kind, org_ids[code]) for kind, code in s.state.roles}
        have = s.existing.roles if s.existing else {}
        deletes += [rid for key, rid in have.items() if key not in wanted]
        inserts += [{"person_id": person_id, "org_id": org, "kind": kind} for kind, org in wanted - set(have)]
    await q.change_roles(session=session, delete_ids=deletes, inserts=inserts)
