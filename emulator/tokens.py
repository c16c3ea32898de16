"""Access tokens as WeChat issues them: a TTL, and a newer fetch retiring older tokens."""

import secrets
from dataclasses import dataclass

TOKEN_OK = 0
TOKEN_UNKNOWN = 1
TOKEN_EXPIRED = 2
TOKEN_SUPERSEDED = 3


@dataclass
class IssuedToken:
    value: str
    issued_at: float
    expires_at: float
    superseded_at: float | None = None

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


class TokenBook:
    """The tokens of one credential (an MP app, a WeCom app, or the MP stable token)."""

    def __init__(self, ttl: int, overlap: int) -> None:
        self.ttl = ttl
        self.overlap = overlap
        self._tokens: dict[str, IssuedToken] = {}
        self._latest: IssuedToken | None = None

    def issue(self, now: float) -> IssuedToken:
        """A new token; every older one stops working `overlap` seconds from now."""
        for token in self._tokens.values():
            if token.superseded_at is None:
                token.superseded_at = now
        token = IssuedToken(secrets.token_urlsafe(48), now, now + self.ttl)
        self._tokens[token.value] = token
        self._latest = token
        return token

    def current(self, now: float) -> IssuedToken | None:
        """The latest token if it is still valid (what the stable-token endpoint hands out)."""
        if self._latest is not None and self.check(self._latest.value, now) == TOKEN_OK:
            return self._latest
        return None

    def check(self, value: str, now: float) -> int:
        token = self._tokens.get(value)
        if token is None:
            return TOKEN_UNKNOWN
        if now >= token.expires_at:
            return TOKEN_EXPIRED
        if token.superseded_at is not None and now >= token.superseded_at + self.overlap:
            return TOKEN_SUPERSEDED
        return TOKEN_OK

    def knows(self, value: str) -> bool:
        return value in self._tokens
