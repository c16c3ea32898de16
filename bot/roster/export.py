"""The roster written out in exactly the import format, so export → edit in Excel → import is a round
trip, and export → import on an empty database reproduces the roster (invite codes aside)."""

import csv
from dataclasses import dataclass
from pathlib import Path

from bot.db import SessionFactory
from bot.roster.columns import INVITE_CODE_HEADER, NOT_EXPORTED, ORG_COLUMNS, PERSON_COLUMNS, UNIT_LEVEL, SheetKind
from bot.roster.person_state import FLAGS, current_state
from bot.roster.readers import RosterFileError
from models.organisation import LEVEL_NAMES, in_subtree
from models.person import PERSON_KIND_NAMES, ROLE_NAMES, PersonKind, RoleKind
from models.roster import RosterSnapshot, load_roster_snapshot

ORG_HEADER = [headers[0] for f, headers in ORG_COLUMNS.items() if f not in NOT_EXPORTED]
PERSON_HEADER = [headers[0] for headers in PERSON_COLUMNS.values()] + [INVITE_CODE_HEADER]
ROLE_ORDER = list(RoleKind)
KIND_ORDER = list(PersonKind)


@dataclass(frozen=True, slots=True)
class RosterExport:
    paths: list[Path]
    orgs: int
    units: int
    people: int
    # Residents who joined by scanning a QR code have no phone, the roster's key: they stay out.
    without_phone: int


async def export_roster(*, session_factory: SessionFactory, path: Path, org_code: str | None = None) -> list[Path]:
    return (await export_roster_detailed(session_factory=session_factory, path=path, org_code=org_code)).paths


async def export_roster_detailed(
    *, session_factory: SessionFactory, path: Path, org_code: str | None = None
) -> RosterExport:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise RosterFileError(f"不支持的文件类型：{path.name}（导出为 .xlsx 或 .csv）")
    async with session_factory() as session:
        snapshot = await load_roster_snapshot(session=session)
    root = snapshot.orgs.get(org_code) if org_code else None
    if org_code and root is None:
        raise RosterFileError(f"组织编码 {org_code} 不存在")
    org_rows, unit_rows, person_rows, without_phone = roster_tables(snapshot, root.path if root else "/")
    tables = {SheetKind.orgs: [ORG_HEADER, *org_rows, *unit_rows], SheetKind.people: [PERSON_HEADER, *person_rows]}
    if suffix == ".xlsx":
        _write_xlsx(path, tables)
        paths = [path]
    else:
        paths = [path.with_name(f"{path.stem}-{kind}.csv") for kind in tables]
        for out, rows in zip(paths, tables.values(), strict=True):
            # UTF-8 with a BOM: without it Excel on Chinese Windows reads the file as GBK.
            with out.open("w", encoding="utf-8-sig", newline="") as f:
                csv.writer(f).writerows(rows)
    return RosterExport(paths, len(org_rows), len(unit_rows), len(person_rows), without_phone)


def roster_tables(
    snapshot: RosterSnapshot, prefix: str
) -> tuple[list[list[str]], list[list[str]], list[list[str]], int]:
    """Organisation, unit and people rows of the subtree whose path starts with `prefix`."""
    org_code, unit_code = snapshot.org_codes_by_id(), snapshot.unit_codes_by_id()
    orgs = sorted((o for o in snapshot.orgs.values() if in_subtree(o.path, prefix)), key=lambda o: o.path)
    inside = {o.id for o in orgs}
    org_rows = [[o.code, o.name, LEVEL_NAMES[o.level], org_code[o.parent_id] if o.parent_id else ""] for o in orgs]
    unit_rows = [
        [u.code, u.name, UNIT_LEVEL, org_code[u.org_id]]
        for u in sorted(snapshot.units.values(), key=lambda u: u.code) if u.org_id in inside
    ]
    path_of = {o.code: o.path for o in snapshot.orgs.values()}
    people = []
    for p in snapshot.people.values():
        if p.primary_org_id not in inside:
            continue
        st = current_state(p, org_code, unit_code)
        roles = sorted(st.roles, key=lambda r: (path_of[r[1]], ROLE_ORDER.index(r[0])))
        is_member = st.kind == PersonKind.member
        people.append(((path_of[st.primary], KIND_ORDER.index(st.kind), st.name, p.phone or ""), [
            st.name, p.phone or "", PERSON_KIND_NAMES[st.kind], st.primary,
            "、".join(sorted(st.participating, key=path_of.__getitem__)),
            "、".join(ROLE_NAMES[k] if c == st.primary else f"{ROLE_NAMES[k]}@{c}" for k, c in roles),
            *(("是" if getattr(st, f) else "否") if is_member else "" for f in FLAGS),
            st.report_org or "", st.unit or "", st.work_userid or "", p.invite_code or "",
        ]))
    people.sort(key=lambda entry: entry[0])
    without_phone = sum(p.primary_org_id in inside for p in snapshot.without_phone)
    return org_rows, unit_rows, [row for _, row in people], without_phone


def _write_xlsx(path: Path, tables: dict[SheetKind, list[list[str]]]) -> None:
    import openpyxl  # imported on use: the CLI starts faster without it
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook(write_only=True)
    for kind, rows in tables.items():
        ws = book.create_sheet(str(kind))
        ws.freeze_panes = "A2"
        for i, width in enumerate((14, 16, 14, 14, 16, 18), start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        for row in rows:
            ws.append(row)
    book.save(path)
