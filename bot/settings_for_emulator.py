"""Our service's settings pointed at a running emulator, with the emulator's credentials.

It lives in bot/, not in emulator/: the emulator must not know our settings (it checks the code that
reads them)."""

from typing import Any

from bot.settings import Settings, load_settings
from emulator import Emulator


def service_settings(emulator: Emulator, **overrides: Any) -> Settings:
    config = emulator.config
    values: dict[str, Any] = {
        "mp_appid": config.mp_appid,
        "mp_secret": config.mp_secret,
        "mp_token": config.mp_token,
        "mp_aes_key": config.mp_aes_key,
        "work_corpid": config.work_corpid,
        "work_agentid": config.work_agentid,
        "work_secret": config.work_secret,
        "work_token": config.work_token,
        "work_aes_key": config.work_aes_key,
        "mp_api_base": emulator.mp_api_base,
        "work_api_base": emulator.work_api_base,
    }
    values.update(overrides)
    return load_settings(**values)
