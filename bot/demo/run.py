"""`grassroots demo`: everything in ./var (a SQLite file and a secret key), the demo stack on
127.0.0.1:<port> until Ctrl-C or SIGTERM, then a clean exit.

bot.serve's run_site/stop_event are not used: that module imports the app factory, which bot.demo must
not, and the demo needs the bound port and the seeded personas before it can say where to go."""

import asyncio
import errno
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from bot.demo.stack import HOST, AppFactory, DemoSetupError, DemoStack, demo_stack
from bot.migrate import upgrade_to_head
from bot.settings import SettingsError, load_settings

VAR = Path("var")


def run_demo(*, create_app: AppFactory, open_browser: bool, port: int | None) -> int:
    try:
        chosen = load_settings().port if port is None else port
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not 0 <= chosen <= 65535:
        print(f"端口 {chosen} 无效：应在 1–65535 之间", file=sys.stderr)
        return 2
    if chosen and not port_is_free(chosen):
        print(_port_taken(chosen), file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per simulated phone request is noise
    VAR.mkdir(exist_ok=True)
    database = (VAR / "demo.db").resolve()
    url = f"sqlite+aiosqlite:///{database}"
    try:
        secret = demo_secret(VAR / "demo-secret")
        print("正在准备演示数据库……", flush=True)
        upgrade_to_head(url)
        return asyncio.run(_run(create_app, url, secret, chosen, open_browser, database))
    except KeyboardInterrupt:  # Ctrl-C before the event loop listens for it (or on Windows)
        print("\n演示已退出。", flush=True)
        return 0


async def _run(
    create_app: AppFactory, url: str, secret: str, port: int, open_browser: bool, database: Path
) -> int:
    stop = _stop_on_signals()
    try:
        async with demo_stack(create_app=create_app, database_url=url, secret_key=secret, port=port) as demo:
            _announce(demo, database)
            if open_browser:
                _open_browser(demo.base_url + "/")
            await stop.wait()
            print("正在退出……", flush=True)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(_port_taken(port), file=sys.stderr)
        return 2
    except DemoSetupError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("演示已退出。", flush=True)
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C arrives as KeyboardInterrupt
            pass
    return stop


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if os.name != "nt":  # as aiohttp binds: a port in TIME_WAIT is free, a listening one is not
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port_taken(port: int) -> str:
    return f"端口 {port} 已被占用：请关闭占用它的程序，或换一个端口，例如 grassroots demo --port {port + 1}"


def demo_secret(path: Path) -> str:
    """Generated once and kept, so signed links and logins survive a restart of the demo."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return secret


def _announce(demo: DemoStack, database: Path) -> None:
    url = demo.base_url + "/"
    print(
        "\n".join([
            "",
            "基层党建服务助手 · 演示已启动",
            f"  在浏览器中打开：{url}",
            f"  选一个身份（共 {len(demo.personas)} 个：书记、党员、居民、驻区单位），像在微信里一样和机器人聊天。",
            f"  演示数据：{database}（删除后重新运行即可从头开始）",
            f"  微信模拟器：{demo.emulator.base_url}/emulator",
            "  按 Ctrl+C 退出。",
            "",
        ]),
        flush=True,
    )


def _open_browser(url: str) -> None:
    """Never blocks nor fails: on a machine without a screen it only says so (a text-mode browser would
    take over the terminal)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("（没有检测到图形界面，未自动打开浏览器：请手动在浏览器中打开上面的网址。）", flush=True)
        return

    def open_it() -> None:
        try:
            webbrowser.open(url, new=2)
        except (webbrowser.Error, OSError):
            pass

    threading.Thread(target=open_it, name="open-browser", daemon=True).start()
