"""All in-memory state of the emulated platforms; one instance per emulator, nothing global."""

import time
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from emulator.client_msg_ids import ClientMsgIds
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.faults import FaultSettings
from emulator.holds import CallHolds
from emulator.media_book import MediaBook
from emulator.qr_book import QrBook
from emulator.rates import DailyCounter, SlidingWindow
from emulator.records import CallRecord, MessageLog
from emulator.tokens import TokenBook

PLATFORMS = ("mp", "work")


@dataclass
class User:
    """A follower of the MP account, or a member of the WeCom corp."""

    platform: str
    id: str
    following: bool = True
    blocked: bool = False  # MP: refuses template messages (TEMPLATESENDJOBFINISH "failed:user block")
    licensed: bool = True  # WeCom: without an interface licence (接口许可) app messages do not reach him
    last_interaction: float | None = None
    custom_since_interaction: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class EmulatorState:
    def __init__(self, config: EmulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.users: dict[str, dict[str, User]] = {platform: {} for platform in PLATFORMS}
        self.mp_tokens = TokenBook(config.token_ttl, config.token_overlap)
        self.mp_stable_tokens = TokenBook(config.token_ttl, config.token_overlap)
        self.work_tokens = TokenBook(config.token_ttl, config.token_overlap)
        self.faults = FaultSettings()
        self.holds = CallHolds()
        self.log = MessageLog()
        self.qr_codes = QrBook()
        self.media = MediaBook()
        self.calls: list[CallRecord] = []
        self._call_seq = 0
        # Sequence of MsgIds for callbacks and template msgids: unique across restarts.
        self._msg_seq = int(time.time() * 1000) * 1000
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.stable_force_refreshes = DailyCounter()
        self.template_sent = DailyCounter()
        self.robot_minute = SlidingWindow(60)
        self.member_minute = SlidingWindow(60)
        self.member_hour = SlidingWindow(3600)
        self.duplicates: dict[tuple[str, str], float] = {}
        self.template_client_msg_ids = ClientMsgIds()

    def now(self) -> float:
        return self.clock.now()

    def next_msg_id(self) -> int:
        self._msg_seq += 1
        return self._msg_seq

    # Users

    def user(self, platform: str, user_id: str) -> User | None:
        return self._platform_users(platform).get(user_id)

    def register_user(
        self,
        platform: str,
        user_id: str,
        following: bool = True,
        *,
        blocked: bool = False,
        interacted: bool = False,
        licensed: bool = True,
    ) -> User:
        """Make the platform know the user; `interacted` opens the 48 h window now."""
        users = self._platform_users(platform)
        user = users.get(user_id) or User(platform, user_id)
        user.following = following
        user.blocked = blocked
        user.licensed = licensed
        if interacted:
            self.interact(user)
        users[user_id] = user
        return user

    def interact(self, user: User) -> None:
        """The user did something in the chat: message, click, follow or scan."""
        user.last_interaction = self.now()
        user.custom_since_interaction = 0

    def _platform_users(self, platform: str) -> dict[str, User]:
        if platform not in self.users:
            raise ValueError(f"未知平台: {platform}（应为 mp 或 work）")
        return self.users[platform]

    # Call log

    def record_call(self, **fields: Any) -> CallRecord:
        self._call_seq += 1
        record = CallRecord(seq=self._call_seq, time=self.now(), **fields)
        self.calls.append(record)
        return record

    def reset(self) -> None:
        """Forget messages, calls, faults and counters; keep users, tokens and the clock."""
        self.log.clear()
        self.calls.clear()
        self.faults.clear()
        self.holds.release()
        self._reset_counters()
        for users in self.users.values():
            for user in users.values():
                user.custom_since_interaction = 0


STATE_KEY = web.AppKey("emulator_state", EmulatorState)
