"""`grassroots` command line: serve, migrate, demo, emulator, import-roster, export-roster, notify, api-token."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

from bot.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.migrate import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.database_url)
    print("数据库已升级到最新版本。")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import create_app
    from bot.migrate import database_is_current
    from bot.serve import run_site, stop_event

    settings = _settings()
    if not settings.secret_key.get_secret_value():
        print("配置错误 GRASSROOTS_SECRET_KEY: 生产环境必须设置（用于签名网页链接和登录状态）", file=sys.stderr)
        return 2
    if not (settings.mp_enabled or settings.work_enabled):
        print("配置错误: 至少需要配置公众号（GRASSROOTS_MP_*）或企业微信（GRASSROOTS_WORK_*）之一", file=sys.stderr)
        return 2
    if not database_is_current(settings.database_url):
        print("数据库尚未迁移到最新版本，请先运行：grassroots migrate", file=sys.stderr)
        return 2

    async def serve() -> None:
        await run_site(create_app(settings), settings.host, settings.port, stop_event())

    asyncio.run(serve())
    return 0


# What the optional `grassroots[emulator]` extra brings; without it the demo and the emulator cannot start.
EMULATOR_EXTRA_MODULES = frozenset({"defusedxml"})
EMULATOR_EXTRA_MISSING = "缺少模拟器所需的依赖，请先安装：pip install 'grassroots[emulator]'"


def _emulator_extra_missing(exc: ImportError) -> bool:
    """Only a missing extra becomes the one-line hint; any other ImportError is a bug and keeps its traceback."""
    return (exc.name or "").partition(".")[0] in EMULATOR_EXTRA_MODULES


def _with_emulator_extra(run: Callable[[], int]) -> int:
    """Runs a command that needs the emulator; without its extra installed, one line says how to add it."""
    try:
        return run()
    except ImportError as exc:
        if not _emulator_extra_missing(exc):
            raise
        print(EMULATOR_EXTRA_MISSING, file=sys.stderr)
        return 2


def cmd_demo(args: argparse.Namespace) -> int:
    def run() -> int:
        from bot.app import create_app
        from bot.demo.run import run_demo

        return run_demo(create_app=create_app, open_browser=not args.no_browser, port=args.port)

    return _with_emulator_extra(run)


def cmd_emulator(args: argparse.Namespace) -> int:
    return _with_emulator_extra(lambda: _run_emulator(args))


def _run_emulator(args: argparse.Namespace) -> int:
    from emulator import EmulatorConfig, run_emulator_forever

    config = EmulatorConfig(mp_callback_url=args.mp_callback, work_callback_url=args.work_callback)
    try:
        asyncio.run(run_emulator_forever(config, args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from bot.roster import run_import_cli

    return run_import_cli(_settings().database_url, args.files, dry_run=args.dry_run, skip_bad=args.skip_bad)


def cmd_export(args: argparse.Namespace) -> int:
    from bot.roster import run_export_cli

    return run_export_cli(_settings().database_url, args.file, org_code=args.org)


def cmd_notify(args: argparse.Namespace) -> int:
    from bot.notify_cli import run_notify_cli

    return run_notify_cli(_settings(), args)


def cmd_api_token(args: argparse.Namespace) -> int:
    from bot.api_token_cli import run_api_token_cli

    return run_api_token_cli(_settings(), args)


def cmd_holidays(args: argparse.Namespace) -> int:
    from bot.holidays_cli import run_holidays_cli

    return run_holidays_cli(_settings(), args)


def cmd_meeting(args: argparse.Namespace) -> int:
    from bot.meeting_cli import run_meeting_cli

    return run_meeting_cli(_settings(), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description="基层党建微信服务")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
        "serve": ("启动服务（需已迁移的数据库和微信配置）", cmd_serve),
        "migrate": ("把数据库升级到最新版本", cmd_migrate),
        "demo": ("演示：SQLite、示例数据、微信模拟器和手机聊天页", cmd_demo),
        "emulator": ("单独运行微信模拟器", cmd_emulator),
        "import-roster": ("导入花名册（CSV 或 XLSX）", cmd_import),
        "export-roster": ("导出花名册", cmd_export),
        "notify": ("发通知（与聊天中的“发通知”相同，写入发送队列）", cmd_notify),
        "api-token": ("管理 JSON 接口的访问令牌：create / list / revoke", cmd_api_token),
        "holidays": ("导入或查看法定节假日和调休安排：load / show", cmd_holidays),
        "meeting": ("安排、列出或取消会议：create / list / cancel", cmd_meeting),
    }
    parsers = {}
    for name, (help_text, fn) in commands.items():
        parsers[name] = sub.add_parser(name, help=help_text)
        parsers[name].set_defaults(fn=fn)
    parsers["demo"].add_argument("--no-browser", action="store_true", help="不自动打开浏览器")
    parsers["demo"].add_argument("--port", type=int, default=None, help="端口（默认取 GRASSROOTS_PORT 或 8080）")
    parsers["emulator"].add_argument("--host", default="127.0.0.1")
    parsers["emulator"].add_argument("--port", type=int, default=8090)
    parsers["emulator"].add_argument("--mp-callback", default="http://127.0.0.1:8080/wechat/mp")
    parsers["emulator"].add_argument("--work-callback", default="http://127.0.0.1:8080/wechat/work")
    parsers["import-roster"].add_argument("files", nargs="+", help="一个或多个 .csv / .xlsx 文件")
    parsers["import-roster"].add_argument("--dry-run", action="store_true", help="只检查，不写入")
    parsers["import-roster"].add_argument("--skip-bad", action="store_true", help="跳过有问题的行，导入其余各行")
    parsers["export-roster"].add_argument("file", help="输出文件：.xlsx，或 .csv（生成 -组织.csv 和 -人员.csv）")
    parsers["export-roster"].add_argument("--org", default=None, help="只导出该组织编码及其下级")
    from bot.api_token_cli import add_arguments as api_token_arguments
    from bot.holidays_cli import add_arguments as holidays_arguments
    from bot.meeting_cli import add_arguments as meeting_arguments
    from bot.notify_cli import add_arguments as notify_arguments

    notify_arguments(parsers["notify"])
    api_token_arguments(parsers["api-token"])
    holidays_arguments(parsers["holidays"])
    meeting_arguments(parsers["meeting"])
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
