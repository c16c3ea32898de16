"""Settings of the WeChat emulator: the accounts it plays and the limits it enforces."""

from dataclasses import dataclass, field

from emulator.templates import WORK_NOTICE, Template


def _default_template_ids() -> set[str]:
    return {"TPL_NOTICE"}


def _default_templates() -> dict[str, Template]:
    return {"TPL_NOTICE": WORK_NOTICE}


@dataclass
class EmulatorConfig:
    """Credentials of the emulated MP account, WeCom corp and robots, plus platform limits.

    Every limit is configurable because several of them are observed figures, not documented ones.
    """

    # Official Account (公众号)
    mp_appid: str = "wx_emulated_appid"
    mp_secret: str = "emulated_mp_secret"
    mp_token: str = "emulated_mp_token"
    mp_aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    mp_safe_mode: bool = True
    mp_original_id: str = ""  # gh_xxx; callbacks use mp_appid as ToUserName when empty
    # WeCom (企业微信)
    work_corpid: str = "ww_emulated_corpid"
    work_secret: str = "emulated_work_secret"
    work_agentid: int = 1000002
    work_token: str = "emulated_work_token"
    work_aes_key: str = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"
    robot_keys: list[str] = field(default_factory=lambda: ["emulated-robot-key"])
    # Our service's callback URLs, where the simulated phones post.
    mp_callback_url: str = "http://127.0.0.1:8080/wechat/mp"
    work_callback_url: str = "http://127.0.0.1:8080/wechat/work"
    callback_timeout: float = 5.0  # WeChat waits 5 s for an answer
    # Tokens
    token_ttl: int = 7200
    token_overlap: int = 300
    stable_force_refresh_per_day: int = 20
    # Limits
    custom_window_hours: int = 48
    custom_replies_per_interaction: int = 5
    robot_per_minute: int = 20
    robot_text_max_bytes: int = 2048
    robot_markdown_max_bytes: int = 4096
    work_member_per_minute: int = 30
    work_member_per_hour: int = 1000
    work_max_recipients: int = 1000
    template_daily_quota: int = 100000
    template_ids: set[str] = field(default_factory=_default_template_ids)
    template_field_max: int = 20
    # The keywords (and the card) of known templates; an id in template_ids without one shows its raw keys.
    templates: dict[str, Template] = field(default_factory=_default_templates)
    template_client_msg_id_window: int = 600  # one message per openid + client_msg_id in 10 minutes
    template_client_msg_id_max_bytes: int = 64
    template_report_delay: float = 0.05  # seconds before the TEMPLATESENDJOBFINISH callback

    @property
    def mp_account_id(self) -> str:
        """What MP callbacks carry as ToUserName."""
        return self.mp_original_id or self.mp_appid
