"""The emulator's dependencies are the optional `grassroots[emulator]` extra: the service runs without
them, and `grassroots demo` / `grassroots emulator` say in one line what to install, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import EMULATOR_EXTRA_MISSING

ROOT = Path(__file__).resolve().parent.parent
# A None entry in sys.modules makes `import defusedxml` fail as if the extra were not installed.
WITHOUT_EXTRA = "import sys; sys.modules['defusedxml'] = None\n"


def _run(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA + code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("command", [["emulator", "--port", "0"], ["demo", "--no-browser", "--port", "0"]])
def test_without_the_extra_the_command_says_what_to_install(command: list[str], tmp_path: Path) -> None:
    code = "from bot.cli import main; raise SystemExit(main(sys.argv[1:]))"
    result = _run(code, *command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [EMULATOR_EXTRA_MISSING]
    assert "grassroots[emulator]" in EMULATOR_EXTRA_MISSING


def test_the_service_needs_no_emulator_extra(tmp_path: Path) -> None:
    result = _run("import bot.app, bot.cli, bot.serve, bot.migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
