"""The layering of DESIGN.md §3 holds: checked by import-linter contracts and by ruff."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    result = subprocess.run([BIN / "lint-imports"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_our_packages_builds_nothing() -> None:
    # Settings, engines, sessions, schedulers and HTTP clients are made by the app factory only: importing
    # every module must not read the environment into settings or open anything.
    code = (
        "import pkgutil, importlib, gc\n"
        "import bot, emulator, handlers, models, schedules\n"
        "for pkg in (bot, emulator, handlers, models, schedules):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "from sqlalchemy.ext.asyncio import AsyncEngine\n"
        "from bot.settings import Settings\n"
        "import httpx\n"
        "from apscheduler.schedulers.base import BaseScheduler\n"
        "kinds = (AsyncEngine, Settings, httpx.AsyncClient, BaseScheduler)\n"
        "made = [type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds)]\n"
        "assert not made, made\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


OUTBOX_WRITER = Path("models/outbox.py")
# What writing an outbox row looks like: an INSERT or UPDATE of the table, or a row object built to be added.
OUTBOX_WRITES = re.compile(r"(insert|update|delete)\(Delivery\b|(?<!class )\bDelivery\(|table=Delivery\b")


def test_only_the_outbox_module_writes_outbox_rows() -> None:
    """One module owns every write of the outbox (models/outbox.py): features queue through
    `queue_messages`, the dispatcher and the delivery reports settle through its functions."""
    writers = []
    for package in ("bot", "handlers", "models", "schedules"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            text = path.read_text(encoding="utf-8")
            if relative != OUTBOX_WRITER and OUTBOX_WRITES.search(text):
                writers.append(str(relative))
    assert writers == []
    assert "insert_ignoring_conflicts(session=session, table=Delivery" in (ROOT / OUTBOX_WRITER).read_text()
