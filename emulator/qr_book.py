"""The parameterised QR codes the emulator has issued (emulator/qr_codes.py), by the URL they encode."""

import secrets
from dataclasses import dataclass

URL_PREFIX = "http://weixin.qq.com/q/"


@dataclass(frozen=True, slots=True)
class QrCode:
    ticket: str
    url: str
    scene: str
    expires_at: float | None  # None: permanent


class QrBook:
    def __init__(self) -> None:
        self.by_url: dict[str, QrCode] = {}
        self.created = 0

    def add(self, scene: str, expires_at: float | None) -> QrCode:
        key = secrets.token_urlsafe(18)
        code = QrCode(ticket=f"gQ{key}", url=URL_PREFIX + key, scene=scene, expires_at=expires_at)
        self.by_url[code.url] = code
        self.created += 1
        return code

    def find(self, url: str, now: float) -> QrCode | None:
        """The code a scan of `url` reads; None when no such code exists or it has expired."""
        code = self.by_url.get(url)
        if code is None or (code.expires_at is not None and now >= code.expires_at):
            return None
        return code
