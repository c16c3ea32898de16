"""Roster files → sheets of rows: CSV (UTF-8, or GB18030 as Excel on Chinese Windows saves it) and XLSX
(every sheet recognised by its header row). Line numbers are the file's own, header included."""

import csv
import io
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.roster.columns import SheetKind, clean, fields_of, recognise

HEADER_SEARCH_ROWS = 10  # a title row such as "朝阳街道党员花名册" may sit above the header


class RosterFileError(Exception):
    """A file cannot be read at all; the message is one Chinese line for the user."""


@dataclass(frozen=True, slots=True)
class RosterRow:
    source: str  # "people.csv", "roster.xlsx「人员」"
    line: int
    values: dict[str, str]  # field → text, only for the columns the sheet has


@dataclass(slots=True)
class Sheet:
    label: str
    kind: SheetKind
    rows: list[RosterRow] = field(default_factory=list)


@dataclass(slots=True)
class RosterFiles:
    sheets: list[Sheet]
    skipped: list[str]  # sheets whose header was not recognised (e.g. an instructions sheet)


def read_roster_files(paths: Sequence[Path]) -> RosterFiles:
    found = RosterFiles([], [])
    for path in paths:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx", ".xlsm"):
            hint = "，请在 Excel 中另存为 .xlsx 或 .csv" if suffix == ".xls" else ""
            raise RosterFileError(f"不支持的文件类型：{path.name}（只支持 .csv 和 .xlsx{hint}）")
        if not path.is_file():
            raise RosterFileError(f"找不到文件：{path}")
        try:
            _read_file(path, suffix, found)
        except OSError as exc:
            raise RosterFileError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
    return found


def _read_file(path: Path, suffix: str, found: RosterFiles) -> None:
    if suffix == ".csv":
        sheet, had_content = sheet_from_table(path.name, _csv_rows(path))
        if not had_content:
            raise RosterFileError(f"{path.name}：文件是空的")
        if sheet is None:
            raise RosterFileError(f"{path.name}：认不出表头，第一行应是组织表（编码、名称、层级、上级编码）"
                                  "或人员表（姓名、手机、类别、所属组织）")
        found.sheets.append(sheet)
    else:
        before = len(found.sheets)
        _read_xlsx(path, found)
        if len(found.sheets) == before:
            raise RosterFileError(f"{path.name}：没有一张工作表认得出表头（组织表或人员表）")


def sheet_from_table(label: str, lines: Iterable[tuple[int, Sequence[object]]]) -> tuple[Sheet | None, bool]:
    """The sheet (None when none of the first non-empty rows is a header we know) and whether the
    table had any content at all."""
    it = iter(lines)
    header = None
    seen = 0
    for _, cells in it:
        if any(clean(c) for c in cells):
            header = recognise(list(cells))
            seen += 1
            if header is not None or seen == HEADER_SEARCH_ROWS:
                break
    if header is None:
        return None, seen > 0
    kind, columns = header
    sheet = Sheet(label, kind)
    for line, cells in it:
        values = {f: clean(cells[i]) if i < len(cells) else "" for i, f in columns.items()}
        if any(values.values()):
            sheet.rows.append(RosterRow(label, line, values))
    return sheet, True


def sheet_from_dicts(label: str, kind: SheetKind, rows: Iterable[dict[str, object]]) -> Sheet:
    """In-memory rows keyed by header, numbered as if a header occupied line 1."""
    return Sheet(label, kind, [RosterRow(label, i, fields_of(kind, row)) for i, row in enumerate(rows, start=2)])


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFileError(f"{path.name}：无法识别文字编码，请另存为 UTF-8 编码的 CSV")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = _decode(path)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","  # Excel's "Unicode text" export
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for cells in reader:
            # A quoted cell may span lines: a record is numbered by the line it starts on.
            yield previous + 1, cells
            previous = reader.line_num
    except csv.Error as exc:
        raise RosterFileError(f"{path.name} 第 {previous + 1} 行：CSV 格式错误（{exc}）") from None


def _read_xlsx(path: Path, found: RosterFiles) -> None:
    import openpyxl  # imported on use: the CLI starts faster without it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and similar noise from other tools' files
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise RosterFileError(f"{path.name}：不是有效的 Excel (.xlsx) 文件（{exc.__class__.__name__}）") from None
    try:
        for ws in book.worksheets:
            label = f"{path.name}「{ws.title}」"
            sheet, had_content = sheet_from_table(label, enumerate(ws.iter_rows(min_row=1, values_only=True), 1))
            if sheet is not None:
                found.sheets.append(sheet)
            elif had_content:
                found.skipped.append(label)
    finally:
        book.close()
