"""A fake WeChat (MP and WeCom) for tests, the demo and benchmarks: real HTTP, real crypto."""

from emulator.config import EmulatorConfig
from emulator.errors import PhoneError, PhoneReplyError, PhoneTimeoutError
from emulator.phone import Phone
from emulator.phone_reply import PhoneReply, UrlCheck
from emulator.records import CallRecord, RecordedMessage
from emulator.server import Emulator, create_emulator_app, run_emulator_forever

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
