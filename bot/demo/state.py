"""What the demo endpoints share: the emulator, this run's personas, and the inbox long-poll."""

import asyncio
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from bot.demo.personas import Community, Persona
from emulator import Emulator, RecordedMessage
from emulator.templates import Template, card
from models.identity import Platform

MAX_WAIT = 25.0  # seconds an inbox long-poll may hold; below common proxy idle timeouts
LABELS = {"custom": "客服消息", "template": "模板消息", "message": "应用消息", "webhook": "群消息"}


class UnknownPersona(LookupError):
    pass


@dataclass
class DemoState:
    emulator: Emulator
    personas: dict[str, Persona] = field(default_factory=dict)
    community: Community = field(default_factory=lambda: Community("", "社区"))
    # A new id per start: the page forgets a conversation held with an earlier run.
    run_id: str = field(default_factory=lambda: secrets.token_hex(6))
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def set_personas(self, personas: list[Persona], community: Community) -> None:
        self.personas = {p.id: p for p in personas}
        self.community = community

    def persona(self, persona_id: object) -> Persona:
        persona = self.personas.get(persona_id) if isinstance(persona_id, str) else None
        if persona is None:
            raise UnknownPersona(persona_id)
        return persona

    async def close(self, _app: web.Application | None = None) -> None:
        """On shutdown: answer pending long-polls now rather than hold the server's exit."""
        self.closing.set()

    async def inbox(self, persona: Persona, after: int, within: float) -> list[RecordedMessage]:
        """Messages the service sent this persona through the APIs after message id `after`; waits up to
        `within` seconds for the first one. WeCom personas also see group-robot messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        cursor = after
        while True:
            found = self.emulator.messages(None, None, cursor)
            mine = [m for m in found if _reaches(persona, m)]
            remaining = deadline - loop.time()
            if mine or remaining <= 0 or self.closing.is_set():
                return mine
            cursor = max((m.id for m in found), default=cursor)
            await self._wait_for_news(cursor, remaining)

    async def _wait_for_news(self, cursor: int, within: float) -> None:
        news = asyncio.ensure_future(self.emulator.wait_for_messages(after=cursor, within=within))
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            await asyncio.wait({news, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (news, closing):
                task.cancel()
            await asyncio.gather(news, closing, return_exceptions=True)


def _reaches(persona: Persona, message: RecordedMessage) -> bool:
    if not message.delivered:
        return False
    if message.platform == "robot":
        return persona.platform == Platform.work
    return message.platform == persona.platform.value and message.recipient == persona.user_id


def message_json(message: RecordedMessage, templates: dict[str, Template] | None = None) -> dict[str, object]:
    found: dict[str, object] = {
        "id": message.id,
        "label": LABELS.get(message.api, message.api),
        "msgtype": message.msgtype,
        "content": message.content,
        "time": message.time,
    }
    if message.api == "template" and isinstance(message.payload, dict):
        # Drawn as WeChat draws a template message: a card with the keywords' names and a 详情 link.
        data = message.payload.get("data") or {}
        values = {str(k): str(v.get("value", "") if isinstance(v, dict) else v) for k, v in data.items()}
        template = (templates or {}).get(str(message.payload.get("template_id")))
        found["card"] = card(template, values, message.payload.get("url"))
    return found
