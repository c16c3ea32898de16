"""What a simulated phone got back from our service."""

from dataclasses import dataclass
from typing import Any


@dataclass
class PhoneReply:
    """What our service answered to one callback."""

    status: int
    raw: str
    reply: dict[str, Any] | None  # the decrypted reply message; None for `success`, empty or an error

    @property
    def content(self) -> str | None:
        """Text of a text reply."""
        if self.reply and self.reply.get("MsgType") == "text":
            return self.reply.get("Content")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reply": self.reply, "raw": self.raw}


@dataclass
class UrlCheck:
    """Outcome of a URL-verification GET: did our service echo what WeChat expects?"""

    status: int
    body: str
    expected: str

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body == self.expected
