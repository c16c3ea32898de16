"""`grassroots demo` itself, in a subprocess: starts on a fresh directory, serves the page, and stops
cleanly on Ctrl-C or SIGTERM; a taken port gets one clear line and exit code 2."""

import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.demo.run import _open_browser, demo_secret

ROOT = Path(__file__).resolve().parents[2]
GRASSROOTS = Path(sys.executable).parent / "grassroots"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    # The checkout first: an editable install made before a package had its __init__.py would otherwise
    # import it as a namespace package when the working directory is elsewhere.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _wait_for_page(process: subprocess.Popen[str], url: str, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            return httpx.get(url, trust_env=False, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"demo did not answer {url} within {within} s")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_starts_on_a_fresh_directory_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [str(GRASSROOTS), "demo", "--no-browser", "--port", str(port)],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        page = _wait_for_page(process, f"http://127.0.0.1:{port}/", within=25)
        listed = httpx.get(f"http://127.0.0.1:{port}/demo/api/personas", trust_env=False).json()
        process.send_signal(stop)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, err
    assert page.status_code == 200 and "选择身份" in page.text and len(listed["personas"]) > 10
    assert f"http://127.0.0.1:{port}/" in out and "演示已启动" in out and "演示已退出" in out
    assert "Traceback" not in err
    assert (tmp_path / "var" / "demo.db").exists()
    assert (tmp_path / "var" / "demo-secret").stat().st_mode & 0o077 == 0


def test_a_taken_port_is_one_clear_line_and_exit_code_2(tmp_path: Path, listening_port: int) -> None:
    result = subprocess.run(
        [str(GRASSROOTS), "demo", "--no-browser", "--port", str(listening_port)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"端口 {listening_port} 已被占用") and f"--port {listening_port + 1}" in line
    assert not (tmp_path / "var").exists()  # nothing was prepared


def test_the_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "demo-secret"
    first = demo_secret(path)
    assert len(first) >= 32 and demo_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_no_browser_is_started_without_a_screen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(webbrowser, "open", lambda url, new=0: opened.append(url))

    _open_browser("http://127.0.0.1:8080/")

    assert opened == [] and "手动在浏览器中打开" in capsys.readouterr().out
