"""Configuration from GRASSROOTS_* environment variables (and an optional .env file)."""

import re
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.meeting_reminders import DEFAULT_OFFSETS_TEXT, Offset, parse_offsets
from models.obligations import DEFAULT_OBLIGATIONS, parse_obligations

ENV_PREFIX = "GRASSROOTS_"
_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _check_url(value: str, *, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"不是有效的网址（需要 {'/'.join(schemes)}://主机）: {value!r}")
    return value.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/grassroots.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    timezone: str = "Asia/Shanghai"
    quiet_hours: str = "21:30-07:30"
    callback_max_skew: int = Field(default=300, ge=0)
    # Seconds a handler may run before the callback is answered "success" and the reply is sent later.
    handler_deadline: float = Field(default=4.0, gt=0, le=4.8)
    max_body_bytes: int = 64 * 1024
    # A sender the in-memory directory does not know makes it read the change log, unless a read began
    # less than this many seconds earlier: another instance's new follower is known to this one within
    # it, and 10,000 strangers at once cost a read per this interval, not one each.
    directory_miss_refresh: float = Field(default=0.05, ge=0, le=5)
    # Seconds the delivery dispatcher rests when nothing is due.
    dispatch_idle: float = Field(default=1.0, gt=0, le=60)
    # Seconds the meeting-photo fetcher rests when no photo waits (WeChat keeps them 3 days: no hurry).
    media_fetch_idle: float = Field(default=3.0, gt=0, le=60)
    # Delivery rate limits (WECHAT.md; observed figures, hence settings). WeCom drops a member's excess
    # silently, so the dispatcher holds it back instead; 0 turns the MP calls-per-second cap off.
    work_member_per_minute: int = Field(default=30, ge=1)
    work_member_per_hour: int = Field(default=1000, ge=1)
    robot_per_minute: int = Field(default=20, ge=1)
    mp_rate_pause: float = Field(default=60.0, ge=0)  # seconds MP sends rest after errcode 45011
    mp_calls_per_second: float = Field(default=0.0, ge=0)
    # Seconds a dispatcher holds its claimed rows; a process that dies mid-send gives them up after it.
    # At most 600 s: a WeCom row of a dead process is resent only inside WeCom's 1800 s duplicate check.
    dispatch_lease_seconds: float = Field(default=60.0, ge=1, le=600)

    mp_appid: str = ""
    mp_secret: SecretStr = SecretStr("")
    mp_token: SecretStr = SecretStr("")
    mp_aes_key: SecretStr = SecretStr("")
    # The template (from the account's template library) notices go out in outside the 48 h window:
    # keywords "title" and "time", and a link to the notice page.
    mp_template_id: str = Field(default="TPL_NOTICE", min_length=1, max_length=64)
    work_corpid: str = ""
    work_agentid: int = 0
    work_secret: SecretStr = SecretStr("")
    work_token: SecretStr = SecretStr("")
    work_aes_key: SecretStr = SecretStr("")
    mp_api_base: str = "https://api.weixin.qq.com"
    work_api_base: str = "https://qyapi.weixin.qq.com"
    secret_key: SecretStr = SecretStr("")
    # Re-reminders of who has not answered 收到: hours after the last message, how many rounds before
    # the branch secretary gets the list, and how often the job looks.
    remind_after_hours: float = Field(default=4, gt=0)
    remind_max: int = Field(default=2, ge=0, le=5)
    remind_every_seconds: int = Field(default=60, ge=1)
    # Minutes within which non-urgent notices to one person are merged into one message; 0: off.
    digest_minutes: int = Field(default=0, ge=0, le=240)
    # 三会一课 obligations (models/obligations.py): `kind:every[:times]`, comma-separated.
    meeting_obligations: str = DEFAULT_OBLIGATIONS
    # When meetings are reminded (models/meeting_reminders.py): `1d@09:00` the day before at 09:00,
    # `2h` two hours before; the later ones go only to those who have not replied.
    meeting_reminders: str = DEFAULT_OFFSETS_TEXT

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("只支持 sqlite+aiosqlite:// 或 postgresql+asyncpg:// 开头的地址")
        return v

    @field_validator("public_url", "mp_api_base", "work_api_base")
    @classmethod
    def _urls(cls, v: str) -> str:
        return _check_url(v, schemes=("http", "https"))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区 {v!r}") from exc
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        if v and not _QUIET.match(v):
            raise ValueError("格式应为 HH:MM-HH:MM，例如 21:30-07:30；留空表示不设免打扰")
        return v

    @field_validator("meeting_obligations")
    @classmethod
    def _obligations(cls, v: str) -> str:
        parse_obligations(v)  # raises with what is wrong
        return v

    @field_validator("meeting_reminders")
    @classmethod
    def _reminders(cls, v: str) -> str:
        parse_offsets(v)  # raises with what is wrong
        return v

    @property
    def reminder_offsets(self) -> tuple[Offset, ...]:
        return parse_offsets(self.meeting_reminders)

    @field_validator("mp_aes_key", "work_aes_key")
    @classmethod
    def _aes_key(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        if raw and not _AES_KEY.match(raw):
            raise ValueError("EncodingAESKey 必须是 43 个字母或数字")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)

    @property
    def mp_enabled(self) -> bool:
        return bool(self.mp_appid and self.mp_token.get_secret_value())

    @property
    def work_enabled(self) -> bool:
        return bool(self.work_corpid and self.work_token.get_secret_value() and self.work_aes_key.get_secret_value())


class SettingsError(Exception):
    """A configuration value is wrong; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic checks the values, at run time
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ENV_PREFIX + str(err["loc"][0]).upper() if err["loc"] else ENV_PREFIX
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"配置错误 {name}: {msg}") from None
