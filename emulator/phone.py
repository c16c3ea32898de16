"""Simulated phones: a user's WeChat app sending signed (and encrypted) callbacks to our service."""

import secrets
from typing import TYPE_CHECKING

import httpx

from emulator.callback_crypto import CallbackCodec
from emulator.callback_xml import FieldValue, build_xml
from emulator.errors import PhoneError, PhoneReplyError, PhoneTimeoutError
from emulator.phone_reply import PhoneReply, UrlCheck

if TYPE_CHECKING:
    from emulator.phonebook import PhoneBook


def _nonce() -> str:
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


class Phone:
    """One user's phone on one platform ("mp" follower or "work" member)."""

    def __init__(self, book: "PhoneBook", platform: str, user_id: str) -> None:
        self.book = book
        self.platform = platform
        self.user_id = user_id
        self.last_request: tuple[dict[str, str], bytes] | None = None

    @property
    def codec(self) -> CallbackCodec:
        """Built from the current config, so a test may switch e.g. `mp_safe_mode` at any time."""
        return self.book.codec(self.platform)

    @property
    def url(self) -> str:
        config = self.book.state.config
        return config.mp_callback_url if self.platform == "mp" else config.work_callback_url

    # What the user does

    async def send_text(self, text: str) -> PhoneReply:
        return await self.send_message("text", Content=text)

    async def send_message(self, msg_type: str, **fields: FieldValue) -> PhoneReply:
        """A user message (text, image with PicUrl/MediaId, location, ...), with a fresh MsgId."""
        self._touch()
        extra = [*fields.items(), ("MsgId", self.book.state.next_msg_id())]
        return await self.post_xml(self.message_xml(msg_type, extra))

    async def send_image(self, data: bytes, content_type: str = "image/jpeg") -> PhoneReply:
        """A picture: WeChat keeps the upload as temporary media (a new MediaId, gone 3 days later on
        the emulator's clock) and calls back with its MediaId and PicUrl."""
        state = self.book.state
        media = state.media.add(self.platform, data, content_type, state.now())
        return await self.send_message("image", PicUrl=state.media.pic_url(media), MediaId=media.media_id)

    async def send_event(self, event: str, event_key: str | None = None, **fields: FieldValue) -> PhoneReply:
        """An event: subscribe (event_key "qrscene_<scene>" for a QR follow), SCAN, unsubscribe, CLICK..."""
        self._touch(event)
        return await self.post_xml(self.event_xml(event, event_key, **fields))

    async def scan(self, url: str) -> PhoneReply | None:
        """Scanning a parameterised QR code (the URL it encodes): a follower's scan arrives as SCAN, a
        new follower's as subscribe with qrscene_; an unknown or expired code sends nothing (None)."""
        state = self.book.state
        found = state.qr_codes.find(url, state.now())
        if found is None:
            return None
        user = state.user(self.platform, self.user_id)
        if user is not None and user.following:
            return await self.send_event("SCAN", found.scene, Ticket=found.ticket)
        return await self.send_event("subscribe", f"qrscene_{found.scene}", Ticket=found.ticket)

    async def click(self, event_key: str) -> PhoneReply:
        return await self.send_event("CLICK", event_key)

    async def enter_agent(self) -> PhoneReply:
        return await self.send_event("enter_agent", "")

    async def template_card_event(
        self, event_key: str, task_id: str, card_type: str = "button_interaction", response_code: str = ""
    ) -> PhoneReply:
        """A click on a button of a WeCom template card."""
        return await self.send_event(
            "template_card_event", event_key, TaskId=task_id, CardType=card_type, ResponseCode=response_code
        )

    async def replay(self) -> PhoneReply:
        """Resend the last request byte for byte, as WeChat does when it got no valid answer."""
        if self.last_request is None:
            raise PhoneError("这部手机还没有发过消息，无法重发")
        params, body = self.last_request
        return await self.post(params, body)

    async def verify_url(self, echostr: str | None = None, *, tamper_signature: bool = False) -> UrlCheck:
        """The GET WeChat sends when the callback URL is configured."""
        plain = echostr or _nonce() + _nonce()
        timestamp, nonce = self._timestamp(), _nonce()
        if self.platform == "mp":
            sent = plain
            params = {"signature": self.codec.signature(timestamp, nonce)}
        else:
            sent = self.codec.encrypt(plain)
            params = {"msg_signature": self.codec.signature(timestamp, nonce, sent)}
        if tamper_signature:
            params = {k: _tamper(v) for k, v in params.items()}
        params.update(timestamp=timestamp, nonce=nonce, echostr=sent)
        response = await self._request("GET", params, None)
        return UrlCheck(response.status_code, response.text, plain)

    # Building and posting callbacks

    def _header(self, msg_type: str) -> list[tuple[str, FieldValue]]:
        config = self.book.state.config
        to = config.mp_account_id if self.platform == "mp" else config.work_corpid
        now = int(self.book.state.now())
        return [
            ("ToUserName", to),
            ("FromUserName", self.user_id),
            ("CreateTime", now),
            ("MsgType", msg_type),
        ]

    def _footer(self) -> list[tuple[str, FieldValue]]:
        return [("AgentID", self.book.state.config.work_agentid)] if self.platform == "work" else []

    def message_xml(self, msg_type: str, fields: list[tuple[str, FieldValue]]) -> str:
        return build_xml(self._header(msg_type) + list(fields) + self._footer())

    def event_xml(self, event: str, event_key: str | None = None, **fields: FieldValue) -> str:
        items: list[tuple[str, FieldValue]] = [("Event", event)]
        if event_key is None and event in ("subscribe", "unsubscribe"):
            event_key = ""  # WeChat sends an empty EventKey for a plain follow / unfollow
        if event_key is not None:
            items.append(("EventKey", event_key))
        if event in ("subscribe", "SCAN") and event_key and "Ticket" not in fields:
            items.append(("Ticket", "gQ" + secrets.token_urlsafe(24)))
        return build_xml(self._header("event") + items + list(fields.items()) + self._footer())

    def build_request(
        self,
        xml: str,
        *,
        tamper_signature: bool = False,
        timestamp: str | int | None = None,
        nonce: str | None = None,
        receive_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of the callback carrying `xml`, optionally forged."""
        ts = str(timestamp) if timestamp is not None else self._timestamp()
        nonce = nonce or _nonce()
        params = {"signature": self.codec.signature(ts, nonce)} if self.platform == "mp" else {}
        params.update(timestamp=ts, nonce=nonce)
        if self.platform == "mp":
            params["openid"] = self.user_id
        if not self.codec.encrypted:
            body = xml
        else:
            encrypt = self.codec.encrypt(xml, receive_id)
            if self.platform == "mp":
                params["encrypt_type"] = "aes"
            params["msg_signature"] = self.codec.signature(ts, nonce, encrypt)
            body = build_xml(self._envelope(encrypt))
        if tamper_signature:
            for key in ("signature", "msg_signature"):
                if key in params:
                    params[key] = _tamper(params[key])
        return params, body.encode()

    def _envelope(self, encrypt: str) -> list[tuple[str, FieldValue]]:
        config = self.book.state.config
        if self.platform == "mp":
            return [("ToUserName", config.mp_account_id), ("Encrypt", encrypt)]
        agentid = str(config.work_agentid)
        return [("ToUserName", config.work_corpid), ("Encrypt", encrypt), ("AgentID", agentid)]

    async def post_xml(self, xml: str) -> PhoneReply:
        params, body = self.build_request(xml)
        return await self.post(params, body)

    async def post(self, params: dict[str, str], body: bytes, *, remember: bool = True) -> PhoneReply:
        """Post a callback as built (or forged) and decode the answer; remembered for `replay()`."""
        if remember:
            self.last_request = (params, body)
        response = await self._request("POST", params, body)
        try:
            reply = self.codec.open_reply(response.text) if response.status_code == 200 else None
        except PhoneReplyError as exc:
            exc.status, exc.raw = response.status_code, response.text
            raise
        return PhoneReply(response.status_code, response.text, reply)

    async def _request(self, method: str, params: dict[str, str], body: bytes | None) -> httpx.Response:
        headers = {"Content-Type": "text/xml"} if body is not None else {}
        try:
            return await self.book.http.request(
                method,
                self.url,
                params=params,
                content=body,
                headers=headers,
                timeout=self.book.state.config.callback_timeout,
            )
        except httpx.TimeoutException as exc:
            raise PhoneTimeoutError(f"服务未在 {self.book.state.config.callback_timeout} 秒内应答") from exc
        except httpx.HTTPError as exc:
            raise PhoneError(f"无法连接服务 {self.url}: {type(exc).__name__}: {exc}") from exc

    def _timestamp(self) -> str:
        return str(int(self.book.state.now()))

    def _touch(self, event: str | None = None) -> None:
        """WeChat's side of a user action: following state and the 48 h interaction window."""
        state = self.book.state
        user = state.user(self.platform, self.user_id) or state.register_user(self.platform, self.user_id)
        if event == "unsubscribe":
            user.following = False
            return
        if event == "subscribe":
            user.following = True
        if event in (None, "subscribe", "SCAN", "CLICK", "VIEW", "enter_agent", "template_card_event"):
            state.interact(user)


def _tamper(signature: str) -> str:
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")
