"""A fake WeChat (MP and WeCom) for tests, the demo and benchmarks: real HTTP, real crypto."""

from bot.emulator.config import EmulatorConfig
from bot.emulator.errors import PhoneError, PhoneReplyError, PhoneTimeoutError
from bot.emulator.phone import Phone
from bot.emulator.phone_reply import PhoneReply, UrlCheck
from bot.emulator.records import CallRecord, RecordedMessage
from bot.emulator.server import Emulator, create_emulator_app, run_emulator_forever

__all__ = [
    "CallRecord",
    "Emulator",
    "EmulatorConfig",
    "Phone",
    "PhoneError",
    "PhoneReply",
    "PhoneReplyError",
    "PhoneTimeoutError",
    "RecordedMessage",
    "UrlCheck",
    "create_emulator_app",
    "run_emulator_forever",
]
