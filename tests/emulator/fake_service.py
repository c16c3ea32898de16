"""A tiny stand-in for our callback endpoints, built only on wechatpy, to check the phones.

It verifies signatures, decrypts, parses with wechatpy, and answers "收到: <text>" (encrypted when
the platform expects it). `mode` makes it misbehave the ways a broken server would.
"""

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from wechatpy import parse_message as parse_mp_message
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise import parse_message as parse_work_message
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply

from emulator import EmulatorConfig

GOOD = "good"
TAMPERED = "tampered"  # encrypted reply with a wrong MsgSignature
WRONG_ID = "wrong-id"  # encrypted for another appid / corpid
PLAIN = "plain"  # unencrypted reply where encryption is required
SUCCESS = "success"
SLOW = "slow"
GARBAGE = "garbage"  # an HTML error page with status 200


@dataclass
class Received:
    platform: str
    params: dict[str, str]
    body: bytes
    message: Any  # the wechatpy message object


@dataclass
class FakeService:
    config: EmulatorConfig
    mode: str = GOOD
    received: list[Received] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/wechat/{platform}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.config.mp_callback_url = self.url + "/wechat/mp"
        self.config.work_callback_url = self.url + "/wechat/work"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def _crypto(self, platform: str, receive_id: str | None = None) -> MpCrypto | WorkCrypto:
        c = self.config
        if platform == "mp":
            return MpCrypto(c.mp_token, c.mp_aes_key, receive_id or c.mp_appid)
        return WorkCrypto(c.work_token, c.work_aes_key, receive_id or c.work_corpid)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        platform = request.match_info["platform"]
        q = request.query
        token = self.config.mp_token if platform == "mp" else self.config.work_token
        if platform == "mp":
            plain_sig = hashlib.sha1(
                "".join(sorted([token, q["timestamp"], q["nonce"]])).encode()
            ).hexdigest()
            if not hmac.compare_digest(plain_sig, q.get("signature", "")):
                return web.Response(status=403, text="bad signature")
        if request.method == "GET":
            if platform == "mp":
                return web.Response(text=q["echostr"])
            try:
                echo = self._crypto("work").check_signature(
                    q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]
                )
            except InvalidSignatureException:
                return web.Response(status=403, text="bad signature")
            return web.Response(text=echo)
        body = await request.read()
        encrypted = platform == "work" or q.get("encrypt_type") == "aes"
        if encrypted:
            try:
                xml = self._crypto(platform).decrypt_message(
                    body, q["msg_signature"], q["timestamp"], q["nonce"]
                )
            except (InvalidSignatureException, InvalidAppIdException, InvalidCorpIdException):
                return web.Response(status=403, text="bad signature or receive id")
        else:
            xml = body.decode()
        message = (parse_mp_message if platform == "mp" else parse_work_message)(xml)
        self.received.append(Received(platform, dict(q), body, message))
        if self.mode == SLOW:
            await asyncio.sleep(0.5)
        if self.mode == GARBAGE:
            return web.Response(text="<html>出错了</html>", content_type="text/html")
        if self.mode == SUCCESS or message.type != "text":
            return web.Response(text="success")
        reply = TextReply(content=f"收到: {message.content}", message=message).render()
        if not encrypted or self.mode == PLAIN:
            return web.Response(text=reply, content_type="application/xml")
        receive_id = "someone_else" if self.mode == WRONG_ID else None
        answer = self._crypto(platform, receive_id).encrypt_message(reply, q["nonce"], q["timestamp"])
        if self.mode == TAMPERED:
            answer = answer.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        return web.Response(text=answer, content_type="application/xml")
