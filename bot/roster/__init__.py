"""Roster import and export (组织、人员 spreadsheets): `grassroots import-roster` / `export-roster`,
and the demo seed, which goes through the same import."""

from bot.roster.cli import run_export_cli, run_import_cli
from bot.roster.export import RosterExport, export_roster, export_roster_detailed
from bot.roster.importer import import_roster, import_rows
from bot.roster.readers import RosterFileError
from bot.roster.report import Counts, ImportReport, RejectedRow

__all__ = [
    "Counts",
    "ImportReport",
    "RejectedRow",
    "RosterExport",
    "RosterFileError",
    "export_roster",
    "export_roster_detailed",
    "import_roster",
    "import_rows",
    "run_export_cli",
    "run_import_cli",
]
