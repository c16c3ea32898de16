"""What every handler receives: the inbound message and one typed context."""

from __future__ import annotations  # the routing types below are imported for type checkers only

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.text import normalise
from models.directory import PersonEntry, SenderProfile
from models.engagement import Awaited
from models.identity import Platform
from models.meeting_reminders import Offset
from models.row_writes import RowWrite, Written

if TYPE_CHECKING:  # handlers.routing imports this module
    from handlers.routing import HelpBook, Route, Router


class SettingsView(Protocol):
    """The part of the settings handlers may read (bot.settings.Settings satisfies it). Every setting a
    handler reads is named here, so a missing one fails loudly instead of falling back to a default."""

    public_url: str
    timezone: str
    secret_key: SecretStr  # signs the page links handlers hand out
    digest_minutes: int  # 0: notices go out one by one
    meeting_obligations: str  # models/obligations.py

    @property
    def reminder_offsets(self) -> tuple[Offset, ...]:  # parsed from meeting_reminders in Settings
        ...

    @property
    def quiet_window(self) -> tuple[time, time] | None:  # derived from quiet_hours in Settings
        ...


class HotPath(Protocol):
    """The callback path's batched database access (bot/callbacks/hot_path.py), for the replies that
    thousands send within minutes: reads of every handler of a moment in one query, writes carried by
    the inbound log's group commit instead of a session and a commit of their own."""

    async def write(self, rows: Sequence[RowWrite]) -> list[Written]: ...

    async def awaiting(self, person_id: int) -> Awaited:
        """What awaits the person's answer: the notices awaiting 收到, newest first, and the newest
        meeting reminder not answered (models.engagement.awaiting_receipts_of)."""
        ...

    def roster_work_user(self, userid: str) -> tuple[int, PersonEntry] | None:
        """The roster's person with this WeCom userid (id and profile), bound or not, from memory."""
        ...

    def learn_sender(self, platform: Platform, app_id: str, external_id: str, identity_id: int, person_id: int,
                     person: PersonEntry, version: int | None) -> None:
        """This process just bound the sender: their next message needs no read."""
        ...


@dataclass(slots=True)
class Inbound:
    """A parsed callback. `raw` holds every XML field, for events wechatpy does not know."""

    platform: Platform
    app_id: str
    from_user: str
    msg_type: str  # text, image, voice, event, ...
    create_time: int
    raw: dict[str, str]
    content: str = ""
    event: str = ""  # lower case: subscribe, unsubscribe, scan, click, enter_agent, template_card_event...
    event_key: str = ""
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = normalise(self.content)

    @property
    def is_event(self) -> bool:
        return self.msg_type == "event"


@dataclass(slots=True)
class Context:
    # Most messages (help, unknown text) need no database at all: the session opens on first use.
    open_session: Callable[[], AsyncSession]
    sender: SenderProfile
    now: datetime  # aware, in the service's time zone
    settings: SettingsView
    help_book: HelpBook  # what `帮助` lists
    # The routing this message goes through, in precedence order: pass_on continues it.
    routers: Sequence[Router]
    # Tell this process's who-is-who cache that the sender's identity changed (others learn it from
    # the directory version in the database).
    forget_sender: Callable[[], None] = lambda: None
    # Reload the sender after a change (binding), for the rest of this message's handling.
    reload_sender: Callable[[], Awaitable[SenderProfile]] | None = None
    # The route whose handler is running (set by run_handler): pass_on hands the message only to the
    # routes after it, so no handler sees one message twice and no flag is needed to stop a loop.
    route: Route | None = None
    # Batched reads and group-committed writes; None outside the callback path (the handlers that use
    # it then take their session path).
    hot: HotPath | None = None
    # A message of a pure or batched route is logged after its handler ran; this logs it now, before a
    # side effect that is not the route's Finish (a Duplicate is raised when it was logged before).
    log_now: Callable[[], Awaitable[None]] | None = None
    _session: AsyncSession | None = None

    async def log_first(self) -> None:
        if self.log_now is not None:
            await self.log_now()

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.open_session()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
