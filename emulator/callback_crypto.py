"""Signing and encryption of callbacks, and checking of our service's encrypted replies.

Uses wechatpy 1.8.18's crypto: `wechatpy.crypto` for MP, `wechatpy.enterprise.crypto` for WeCom.
"""

import hashlib
from typing import Any

from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from emulator.callback_xml import parse_xml
from emulator.config import EmulatorConfig
from emulator.errors import PhoneReplyError


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class CallbackCodec:
    """Signs, encrypts and decrypts for one platform's callbacks."""

    def __init__(self, platform: str, token: str, aes_key: str, receive_id: str, encrypted: bool) -> None:
        self.platform = platform
        self.token = token
        self.receive_id = receive_id
        self.encrypted = encrypted
        if platform == "mp":
            self._crypto: MpCrypto | WorkCrypto = MpCrypto(token, aes_key, receive_id)
            self._prp: type[MpPrpCrypto] | type[WorkPrpCrypto] = MpPrpCrypto
        else:
            self._crypto = WorkCrypto(token, aes_key, receive_id)
            self._prp = WorkPrpCrypto

    @classmethod
    def for_platform(cls, config: EmulatorConfig, platform: str) -> "CallbackCodec":
        if platform == "mp":
            return cls("mp", config.mp_token, config.mp_aes_key, config.mp_appid, config.mp_safe_mode)
        if platform == "work":
            return cls("work", config.work_token, config.work_aes_key, config.work_corpid, True)
        raise ValueError(f"未知平台: {platform}")

    def signature(self, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
        parts = [self.token, timestamp, nonce] + ([encrypt] if encrypt is not None else [])
        return sign(*parts)

    def encrypt(self, text: str, receive_id: str | None = None) -> str:
        """The base64 ciphertext WeChat puts in <Encrypt> (or a WeCom echostr)."""
        prp = self._prp(self._crypto.key)
        return prp.encrypt(text, receive_id if receive_id is not None else self.receive_id).decode()

    def decrypt_reply(self, envelope: dict[str, Any]) -> str:
        """Verify and decrypt our service's encrypted reply; raise PhoneReplyError when wrong."""
        missing = [k for k in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce") if not envelope.get(k)]
        if missing:
            raise PhoneReplyError(f"加密回复缺少字段: {', '.join(missing)}")
        try:
            return self._crypto.decrypt_message(
                {"Encrypt": envelope["Encrypt"]},
                envelope["MsgSignature"],
                envelope["TimeStamp"],
                envelope["Nonce"],
            )
        except InvalidSignatureException as exc:
            raise PhoneReplyError("回复的 MsgSignature 签名错误") from exc
        except (InvalidAppIdException, InvalidCorpIdException) as exc:
            raise PhoneReplyError(f"回复的接收方 ID 与 {self.receive_id} 不符") from exc
        except Exception as exc:  # garbage ciphertext: bad base64, padding, length or UTF-8
            raise PhoneReplyError(f"回复无法解密: {type(exc).__name__}: {exc}") from exc

    def open_reply(self, body: str) -> dict[str, Any] | None:
        """The reply message as a dict, None for `success` / empty; raise when WeChat would refuse it."""
        if body.strip() in ("", "success"):
            return None
        try:
            outer = parse_xml(body)
        except ValueError as exc:
            raise PhoneReplyError(f"回复既不是 success 也不是 XML: {body[:200]!r}") from exc
        if self.encrypted:
            if "Encrypt" not in outer:
                raise PhoneReplyError("安全模式下回复必须加密（缺少 Encrypt）")
            try:
                return parse_xml(self.decrypt_reply(outer))
            except ValueError as exc:
                raise PhoneReplyError(f"解密后的回复不是合法的 XML: {exc}") from exc
        return outer
