"""The sample vectors published with WeChat's own encryption samples decrypt with our crypto."""

import pytest

from bot.wechat.crypto import CallbackCrypto, CryptoError, signature

# From the Official Account message-encryption sample (WXBizMsgCrypt, "pamtest").
MP_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
MP_CIPHER = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="


def test_the_official_mp_sample_decrypts() -> None:
    crypto = CallbackCrypto("pamtest", MP_KEY, "wxb11529c136998cb6", "mp")
    sig = signature("pamtest", "1409304348", "xxxxxx", MP_CIPHER)
    assert crypto.decrypt(sig, "1409304348", "xxxxxx", MP_CIPHER) == "我是中文abcd123"


def test_the_same_payload_for_another_app_is_refused() -> None:
    crypto = CallbackCrypto("pamtest", MP_KEY, "wx_another_app", "mp")
    sig = signature("pamtest", "1409304348", "xxxxxx", MP_CIPHER)
    with pytest.raises(CryptoError, match="receive id"):
        crypto.decrypt(sig, "1409304348", "xxxxxx", MP_CIPHER)


def test_garbage_that_is_signed_is_still_refused_cleanly() -> None:
    crypto = CallbackCrypto("pamtest", MP_KEY, "wxb11529c136998cb6", "mp")
    for junk in ("not base64 !!", "AAAA", MP_CIPHER[:-8]):
        with pytest.raises(CryptoError):
            crypto.decrypt(signature("pamtest", "1", "n", junk), "1", "n", junk)


def test_our_replies_round_trip() -> None:
    crypto = CallbackCrypto("pamtest", MP_KEY, "wxb11529c136998cb6", "mp")
    sealed = crypto.encrypt_reply("<xml><Content><![CDATA[你好]]></Content></xml>", "1409304348", "xxxxxx")
    cipher = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    sig = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert crypto.decrypt(sig, "1409304348", "xxxxxx", cipher) == "<xml><Content><![CDATA[你好]]></Content></xml>"
