"""A wrong setting stops start-up with one line that names the variable; secrets never show."""

import subprocess
import sys
from datetime import time

import pytest

from bot.settings import SettingsError, load_settings
from handlers.context import SettingsView


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("GRASSROOTS_MP_AES_KEY", "tooshort", "43"),
        ("GRASSROOTS_PUBLIC_URL", "not a url", "网址"),
        ("GRASSROOTS_DATABASE_URL", "mysql://x", "sqlite"),
        ("GRASSROOTS_QUIET_HOURS", "9pm-7am", "HH:MM"),
        ("GRASSROOTS_PORT", "eighty", "GRASSROOTS_PORT"),
        ("GRASSROOTS_TIMEZONE", "Mars/Base", "时区"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"配置错误 {variable}") and words in message and "\n" not in message


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRASSROOTS_DATABASE_URL", "GRASSROOTS_PORT", "GRASSROOTS_QUIET_HOURS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///./var/")
    assert settings.port == 8080 and settings.timezone == "Asia/Shanghai" and settings.callback_max_skew == 300
    assert str(settings.quiet_window) == "(datetime.time(21, 30), datetime.time(7, 30))"


def test_the_settings_give_every_setting_a_handler_reads() -> None:
    # No type checker runs in `make test`: this is what keeps Settings and the handlers' view in step.
    members = set(SettingsView.__annotations__) | {n for n, v in vars(SettingsView).items() if isinstance(v, property)}
    settings = load_settings(quiet_hours="22:00-07:00", digest_minutes=5)
    assert {"quiet_window", "digest_minutes", "public_url"} <= members
    assert [name for name in members if not hasattr(settings, name)] == []
    assert settings.quiet_window == (time(22, 0), time(7, 0)) and settings.digest_minutes == 5


def test_secrets_do_not_show_in_reprs_or_logs() -> None:
    settings = load_settings(mp_secret="s3cr3t-mp", work_secret="s3cr3t-work", secret_key="s3cr3t-key")
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.model_dump())


def test_the_cli_prints_one_line_and_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        env={"GRASSROOTS_WORK_AES_KEY": "x", "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    expected = "配置错误 GRASSROOTS_WORK_AES_KEY: EncodingAESKey 必须是 43 个字母或数字"
    assert result.stderr.strip().splitlines() == [expected]


def test_serve_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "GRASSROOTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fresh.db",
        "GRASSROOTS_SECRET_KEY": "k",
        "GRASSROOTS_MP_APPID": "wx1",
        "GRASSROOTS_MP_TOKEN": "t",
        "PATH": "",
    }
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2 and "grassroots migrate" in result.stderr
