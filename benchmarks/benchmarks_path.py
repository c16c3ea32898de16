"""Lets the benchmark scripts run as plain files (`python benchmarks/run.py`) from any directory."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def ensure_repo_on_path() -> None:
    for folder in (str(REPO), str(HERE)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
