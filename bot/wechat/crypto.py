"""Callback signatures and AES, the same for MP and WeCom. wechatpy does the AES; signatures are
compared here in constant time (wechatpy compares with `!=`)."""

import hashlib
import hmac
import secrets
import time
from typing import Literal

from wechatpy.crypto import PrpCrypto as MpPrpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import to_text

from wechatpy.enterprise.exceptions import InvalidCorpIdException  # isort: skip

_ENCRYPTED_REPLY = (
    "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
    "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
)


class CryptoError(Exception):
    """A bad signature, an undecryptable payload or a receive id that is not ours."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(expected: str, *parts: str) -> bool:
    return hmac.compare_digest(signature(*parts).encode(), expected.encode("utf-8", "replace"))


class CallbackCrypto:
    """One app's callback token and EncodingAESKey; receive_id is the MP appid or the WeCom corpid."""

    def __init__(self, token: str, aes_key: str, receive_id: str, platform: Literal["mp", "work"]) -> None:
        import base64

        self.token = token
        self.receive_id = receive_id
        self.key = base64.b64decode(aes_key + "=") if aes_key else b""
        self._prp = (MpPrpCrypto if platform == "mp" else WorkPrpCrypto)(self.key) if self.key else None

    def check_plain(self, sig: str, timestamp: str, nonce: str) -> bool:
        return signature_ok(sig, self.token, timestamp, nonce)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        if self._prp is None:
            raise CryptoError("no EncodingAESKey configured")
        if not signature_ok(msg_signature, self.token, timestamp, nonce, encrypt):
            raise CryptoError("bad msg_signature")
        try:
            return to_text(self._prp.decrypt(encrypt, self.receive_id))
        except (InvalidAppIdException, InvalidCorpIdException) as exc:
            raise CryptoError("receive id mismatch") from exc
        except Exception as exc:  # any failure to open a signed payload is the sender's fault: a 403
            raise CryptoError(f"undecryptable payload: {type(exc).__name__}") from exc

    def encrypt_reply(self, xml: str, timestamp: str | None = None, nonce: str | None = None) -> str:
        assert self._prp is not None
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(8)
        encrypt = to_text(self._prp.encrypt(xml, self.receive_id))
        sig = signature(self.token, timestamp, nonce, encrypt)
        return _ENCRYPTED_REPLY.format(encrypt=encrypt, signature=sig, timestamp=timestamp, nonce=nonce)
