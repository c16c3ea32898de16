"""Per-channel rate limits of the dispatcher (WECHAT.md), kept across processes through the outbox.

WeCom drops a member's messages beyond about 30 a minute / 1000 an hour silently, and a group robot
answers 45009 beyond 20 messages a minute: so before sending, the rows already sent (and the rows other
dispatchers hold in flight) are counted, and rows over the budget go back to `retry` at the moment the
budget frees up, without using up an attempt. Nothing sleeps while rows are in flight: a sleeping batch
could outlive its lease. The MP limits are not counted but met: errcode 45011 pauses this process's MP
sends for a while (MpGate), and an optional calls-per-second cap paces them.
"""

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import case, distinct, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.clock import aware
from models.delivery import CLAIMED, Channel, Delivery
from models.outbox import Hold
from models.typed import id_of

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
MIN_HOLD = timedelta(seconds=1)  # a held row is due strictly later than now


class LimitSettings(Protocol):
    work_member_per_minute: int
    work_member_per_hour: int
    robot_per_minute: int
    mp_rate_pause: float
    mp_calls_per_second: float


@dataclass(frozen=True, slots=True)
class Limits:
    work_per_minute: int = 30
    work_per_hour: int = 1000
    robot_per_minute: int = 20
    mp_pause: float = 60.0  # seconds
    mp_per_second: float = 0.0  # 0: no cap

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> "Limits":
        return cls(
            work_per_minute=settings.work_member_per_minute,
            work_per_hour=settings.work_member_per_hour,
            robot_per_minute=settings.robot_per_minute,
            mp_pause=settings.mp_rate_pause,
            mp_per_second=settings.mp_calls_per_second,
        )


def work_minute_reason(limits: Limits) -> str:
    return f"企业微信每人每分钟限{limits.work_per_minute}条：稍后发送"


def work_hour_reason(limits: Limits) -> str:
    return f"企业微信每人每小时限{limits.work_per_hour}条：稍后发送"


def robot_reason(limits: Limits) -> str:
    return f"群机器人每分钟限{limits.robot_per_minute}条：稍后发送"


MP_PAUSED = "公众号接口调用过于频繁：暂停发送，稍后重试"
MP_PACED = "公众号每秒发送条数已达上限：稍后发送"


def _aware(value: datetime | str | None) -> datetime | None:
    return aware(value) if value is not None else None


async def _flying_elsewhere(
    *, session: AsyncSession, channel: Channel, recipients: Sequence[str], ours: Sequence[int], per_message: bool
) -> dict[str, int]:
    """Rows other dispatchers hold in flight for these recipients: they will be sent any moment.
    In-flight rows are few, and the status index (ix_delivery_due) finds them."""
    counted = func.count(distinct(col(Delivery.subject_id))) if per_message else func.count()
    result = await session.exec(
        select(Delivery.recipient, counted)
        .where(
            col(Delivery.status).in_([s.name for s in CLAIMED]),
            Delivery.channel == channel,
            col(Delivery.recipient).in_(recipients),
            col(Delivery.id).not_in(ours),
        )
        .group_by(Delivery.recipient)
    )
    return dict(result.all())


async def over_member_limits(
    *, session: AsyncSession, rows: Sequence[Delivery], limits: Limits, now: datetime
) -> list[Hold]:
    """WeCom app rows beyond a member's minute or hour budget. The history is found through the
    person index (a member's rows of the last hour), one grouped query per batch."""
    work = sorted((r for r in rows if r.channel == Channel.work_app), key=lambda r: r.id or 0)
    if not work:
        return []
    recipients = sorted({r.recipient for r in work})
    minute_ago, hour_ago = now - MINUTE, now - HOUR
    in_minute = col(Delivery.sent_at) >= minute_ago
    history = await session.exec(
        select(  # type: ignore[call-overload]  # SQLModel's select() is typed for at most four columns
            Delivery.recipient,
            func.count(),
            func.sum(case((in_minute, 1), else_=0)),
            func.min(Delivery.sent_at),
            func.min(case((in_minute, Delivery.sent_at), else_=None)),
        )
        .where(
            col(Delivery.person_id).in_(sorted({r.person_id for r in work})),
            Delivery.channel == Channel.work_app,
            # Only a sent row has sent_at. No status condition: SQLite would then pick the status
            # index and read every row ever sent, instead of the person index.
            col(Delivery.sent_at) >= hour_ago,
            col(Delivery.recipient).in_(recipients),
        )
        .group_by(Delivery.recipient)
    )
    sent = {recipient: (hour, minute or 0, _aware(first), _aware(first_minute))
            for recipient, hour, minute, first, first_minute in history}
    flying = await _flying_elsewhere(
        session=session, channel=Channel.work_app, recipients=recipients, ours=[id_of(r) for r in work],
        per_message=False,
    )
    by_member: dict[str, list[Delivery]] = defaultdict(list)
    for row in work:
        by_member[row.recipient].append(row)
    holds: list[Hold] = []
    for recipient, mine in by_member.items():
        hour, minute, first, first_minute = sent.get(recipient, (0, 0, None, None))
        others = flying.get(recipient, 0)
        minute_left = limits.work_per_minute - minute - others
        hour_left = limits.work_per_hour - hour - others
        allowed = max(0, min(minute_left, hour_left))
        if allowed >= len(mine):
            continue
        if hour_left < len(mine) and hour_left <= minute_left:
            until, reason = (first or now) + HOUR, work_hour_reason(limits)
        else:
            until, reason = (first_minute or now) + MINUTE, work_minute_reason(limits)
        until = max(until, now + MIN_HOLD)
        holds.extend(Hold(row, until, reason) for row in mine[allowed:])
    return holds


async def over_robot_limits(
    *, session: AsyncSession, messages: Iterable[tuple[str, list[Delivery]]], limits: Limits, now: datetime
) -> list[Hold]:
    """Robot messages (key, rows of one message), in sending order, beyond a key's minute budget."""
    by_key: dict[str, list[list[Delivery]]] = defaultdict(list)
    for key, rows in messages:
        by_key[key].append(rows)
    if not by_key:
        return []
    ours = [id_of(r) for groups in by_key.values() for rows in groups for r in rows]
    flying = await _flying_elsewhere(
        session=session, channel=Channel.robot, recipients=sorted(by_key), ours=ours,
        per_message=True,
    )
    holds: list[Hold] = []
    for key, groups in by_key.items():
        # Rows of one group message share robot_message_id: the messages are the distinct ids. The
        # (recipient, sent_at) index finds the key's last minute.
        count, oldest = (
            await session.exec(
                select(func.count(distinct(col(Delivery.robot_message_id))), func.min(Delivery.sent_at)).where(
                    Delivery.recipient == key,
                    col(Delivery.sent_at) >= now - MINUTE,
                    Delivery.channel == Channel.robot,
                )
            )
        ).one()
        allowed = max(0, limits.robot_per_minute - count - flying.get(key, 0))
        if allowed >= len(groups):
            continue
        until = max((_aware(oldest) or now) + MINUTE, now + MIN_HOLD)
        holds.extend(Hold(row, until, robot_reason(limits)) for rows in groups[allowed:] for row in rows)
    return holds


class MpGate:
    """This process's MP sends: paused for a while after a rate error (45011), and optionally paced
    to a number of calls per second. A send that would wait longer than `max_wait` is held instead.
    The dispatcher asks before it marks a request as going out, so a paced request waits unmarked."""

    def __init__(self, limits: Limits, *, max_wait: float) -> None:
        self.pause_seconds = limits.mp_pause
        self.interval = 1.0 / limits.mp_per_second if limits.mp_per_second > 0 else 0.0
        self.max_wait = max_wait
        self._paused_until = 0.0
        self._next_slot = 0.0

    def pause(self) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + self.pause_seconds)

    def hold(self) -> tuple[float, str] | None:
        """(seconds to hold the row, reason) when the next MP call cannot be made soon; else None."""
        now = time.monotonic()
        if self._paused_until > now:
            return self._paused_until - now, MP_PAUSED
        if self.interval and self._next_slot - now > self.max_wait:
            return self._next_slot - now, MP_PACED
        return None

    def wait(self) -> float:
        """Seconds until the next MP call's slot (0: now)."""
        return max(0.0, self._next_slot - time.monotonic()) if self.interval else 0.0

    def take(self) -> None:
        """One call is made now: the next slot is an interval later."""
        if self.interval:
            self._next_slot = max(time.monotonic(), self._next_slot) + self.interval
