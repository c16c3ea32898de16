"""What the emulator remembers for tests: accepted outbound messages and every API call."""

import asyncio
import time
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

DROP_RATE = "rate-dropped"
DROP_DUPLICATE = "duplicate-check"
DROP_USER_BLOCK = "user-block"


@dataclass
class RecordedMessage:
    """One message WeChat accepted for one recipient (a WeCom call to 3 users records 3)."""

    id: int
    time: float
    platform: str  # "mp", "work" or "robot"
    api: str  # "custom", "template", "message" or "webhook"
    recipient: str  # openid, userid, or the robot key
    msgtype: str
    content: str  # readable text of the message, whatever its type
    payload: dict[str, Any]
    msgid: str
    delivered: bool = True
    drop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallRecord:
    """One call to an emulated API endpoint and what it was answered."""

    seq: int
    time: float
    method: str
    endpoint: str  # request path, e.g. /mp/cgi-bin/message/custom/send
    args: dict[str, str]
    body: Any
    errcode: int | None
    http_status: int | None
    fault: str | None = None
    # A template send WeChat folded into an earlier one with the same client_msg_id: answered ok with
    # the first msgid, delivered no second time.
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CallNotes:
    """What only the endpoint knows about its call, for the middleware to write on the CallRecord."""

    duplicate: bool = False


# The API middleware sets fresh notes around each endpoint call. The endpoint runs in the middleware's
# task, so it reaches them without request storage (a plain string key warns; web.RequestKey needs
# aiohttp 3.14).
CALL_NOTES: ContextVar[CallNotes | None] = ContextVar("emulator_call_notes", default=None)


def note_duplicate() -> None:
    """The call being answered is a repeat WeChat does not deliver again."""
    notes = CALL_NOTES.get()
    if notes is not None:
        notes.duplicate = True


@dataclass
class MessageLog:
    """Recorded messages, with a way to wait for new ones (long-polling)."""

    messages: list[RecordedMessage] = field(default_factory=list)
    last_id: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, **fields: Any) -> RecordedMessage:
        self.last_id += 1
        message = RecordedMessage(id=self.last_id, **fields)
        self.messages.append(message)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        return message

    def query(
        self, platform: str | None = None, to: str | None = None, after: int = 0
    ) -> list[RecordedMessage]:
        return [
            m
            for m in self.messages
            if m.id > after
            and (platform is None or m.platform == platform)
            and (to is None or m.recipient == to)
        ]

    async def wait(
        self,
        platform: str | None = None,
        to: str | None = None,
        after: int = 0,
        within: float = 0.0,
        count: int = 1,
    ) -> list[RecordedMessage]:
        """Messages matching the filter; if fewer than `count`, wait up to `within` real seconds."""
        deadline = time.monotonic() + within
        while True:
            found = self.query(platform, to, after)
            remaining = deadline - time.monotonic()
            if len(found) >= count or remaining <= 0:
                return found
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return self.query(platform, to, after)

    def clear(self) -> None:
        """Forget the messages; ids keep increasing so pollers using `after` are not confused."""
        self.messages.clear()
