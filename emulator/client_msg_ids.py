"""Template sends remembered by their client_msg_id: for one openid and client_msg_id WeChat sends one
message within 10 minutes, and answers a repeat inside that window with the first send's msgid."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FirstSend:
    msgid: int
    time: float


class ClientMsgIds:
    """The first accepted send of each (openid, client_msg_id), kept as long as a repeat would match it."""

    def __init__(self) -> None:
        # Insertion order is time order (the clock only moves forward), so expired entries are at the front.
        self._sends: dict[tuple[str, str], FirstSend] = {}

    def first_send(self, openid: str, client_msg_id: str, now: float, window: float) -> FirstSend | None:
        """The send a repeat now is folded into, or None when it is a new message."""
        first = self._sends.get((openid, client_msg_id))
        return first if first is not None and now - first.time < window else None

    def remember(self, openid: str, client_msg_id: str, msgid: int, now: float, window: float) -> None:
        self._forget_expired(now, window)
        key = (openid, client_msg_id)
        self._sends.pop(key, None)  # a send after the window starts a new one, at the back
        self._sends[key] = FirstSend(msgid, now)

    def _forget_expired(self, now: float, window: float) -> None:
        # Without this a long demo or benchmark run would keep every id it ever saw.
        while self._sends:
            key, first = next(iter(self._sends.items()))
            if now - first.time < window:
                return
            del self._sends[key]

    def clear(self) -> None:
        self._sends.clear()
