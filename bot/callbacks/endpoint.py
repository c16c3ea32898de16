"""One configured callback endpoint: which platform, which app, its crypto, and how a request proves
itself (signature, timestamp window) and yields its plaintext XML."""

import time
from dataclasses import dataclass

from multidict import MultiMapping

from bot.callbacks.parsing import BadCallback, xml_fields
from bot.wechat.crypto import CallbackCrypto, CryptoError
from models.identity import Platform

_OPEN, _CLOSE = b"<Encrypt><![CDATA[", b"]]></Encrypt>"


def _encrypt_field(body: bytes) -> str | None:
    """The Encrypt field of an encrypted envelope. WeChat always writes it as one CDATA section, so it
    is cut out directly (the envelope is parsed only when it looks otherwise); the signature check
    that follows covers exactly this value."""
    start = body.find(_OPEN)
    if start >= 0:
        end = body.find(_CLOSE, start)
        if end > 0:
            return body[start + len(_OPEN) : end].decode("ascii", "replace")
    return xml_fields(body).get("Encrypt")


@dataclass(frozen=True, slots=True)
class Endpoint:
    platform: Platform
    app_id: str  # MP appid or WeCom corpid: the receive id of encrypted payloads
    crypto: CallbackCrypto
    max_skew: int  # seconds; 0 = no timestamp window

    def _check_timestamp(self, timestamp: str) -> None:
        if not timestamp.isdigit():
            raise BadCallback(403, "timestamp 缺失或不是数字")
        if self.max_skew and abs(time.time() - int(timestamp)) > self.max_skew:
            raise BadCallback(403, "timestamp 超出允许的时间窗口")

    def encrypted(self, query: MultiMapping[str]) -> bool:
        return self.platform == Platform.work or query.get("encrypt_type", "raw") == "aes"

    def open(self, query: MultiMapping[str], body: bytes) -> str | bytes:
        """Verifies the request and returns the plaintext message XML; raises BadCallback."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        self._check_timestamp(timestamp)
        if not self.encrypted(query):
            if not self.crypto.check_plain(query.get("signature", ""), timestamp, nonce):
                raise BadCallback(403, "签名错误")
            return body
        encrypt = _encrypt_field(body)
        if not encrypt:
            raise BadCallback(400, "加密消息缺少 Encrypt 字段")
        try:
            return self.crypto.decrypt(query.get("msg_signature", ""), timestamp, nonce, encrypt)
        except CryptoError as exc:
            raise BadCallback(403, f"签名或解密失败：{exc}") from exc

    def verify_url(self, query: MultiMapping[str]) -> str:
        """GET URL verification: MP echoes `echostr`; WeCom decrypts it."""
        timestamp, nonce, echostr = query.get("timestamp", ""), query.get("nonce", ""), query.get("echostr", "")
        self._check_timestamp(timestamp)
        if not echostr:
            raise BadCallback(400, "缺少 echostr")
        if self.platform == Platform.mp:
            if not self.crypto.check_plain(query.get("signature", ""), timestamp, nonce):
                raise BadCallback(403, "签名错误")
            return echostr
        # A base64 echostr sent without URL-encoding has its "+" read as a space; base64 has no spaces.
        echostr = echostr.replace(" ", "+")
        try:
            return self.crypto.decrypt(query.get("msg_signature", ""), timestamp, nonce, echostr)
        except CryptoError as exc:
            raise BadCallback(403, f"签名或解密失败：{exc}") from exc

    def seal(self, query: MultiMapping[str], reply_xml: str) -> str:
        return self.crypto.encrypt_reply(reply_xml) if self.encrypted(query) else reply_xml
