"""Replies that missed the 5 s callback deadline go out through the API: a customer-service message on
the Official Account (the user just wrote, so the 48 h window is open), an app message on WeCom."""

from bot.wechat.api import WeChatApi
from handlers.context import Inbound
from models.identity import Platform


class ApiLateSender:
    def __init__(self, api: WeChatApi) -> None:
        self.api = api

    async def send(self, msg: Inbound, text: str) -> None:
        if msg.platform == Platform.mp:
            await self.api.send_mp_text(msg.from_user, text)
        else:
            await self.api.send_work_text(msg.from_user, text)
