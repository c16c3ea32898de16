"""Sending a notice the same way from the chat, the JSON API and the CLI: who may send to which
organisations, checking a request, and confirming it into the outbox with quiet hours applied."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient
from models.notice import Notice, Urgency
from models.notice_queries import WHO_NAMES, confirm_notice
from models.organisation import Organisation
from models.person import Role
from models.quiet_hours import not_before

MAX_TEXT = 2000
_WHO_NUMBERS = {name: number for number, name in WHO_NAMES.items()}


class Refusal(Exception):
    """A request we do not carry out: `error` for programs, `reason` in Chinese for people."""

    def __init__(self, status: int, error: str, reason: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason, self.field, self.extra = status, error, reason, field, extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "reason": self.reason, "field": self.field, **self.extra}


def bad(error: str, reason: str, field: str | None = None) -> Refusal:
    return Refusal(400, error, reason, field)


@dataclass(slots=True)
class Draft:
    orgs: list[Organisation]
    who: list[int]  # WHO_NAMES numbers
    text: str
    urgent: bool = False
    receipt: bool = True
    deadline: datetime | None = None  # aware

    @property
    def org_ids(self) -> list[int]:
        return [o.id for o in self.orgs]  # type: ignore[misc]


def who_numbers(names: list[str]) -> list[int]:
    unknown = [n for n in names if n not in _WHO_NUMBERS]
    if unknown or not names:
        choices = "、".join(WHO_NAMES.values())
        raise bad("unknown_who", f"不认识的对象“{'、'.join(unknown)}”，可选：{choices}" if unknown
                  else f"请指定发给哪些人，可选：{choices}", "who")
    return sorted({_WHO_NUMBERS[n] for n in names})


def checked_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise bad("empty_text", "通知内容不能为空", "text")
    if len(text) > MAX_TEXT:
        raise bad("text_too_long", f"内容太长（{len(text)}字），请缩短到{MAX_TEXT}字以内", "text")
    return text


def checked_deadline(value: str, now: datetime) -> datetime:
    """ISO 8601; without a time zone it is the service's (`now`'s); a bare date means the end of that day."""
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(23, 59))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad("bad_deadline", f"截止时间格式不对（{value[:40]}），请写成 2026-12-01T18:00", "deadline") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    if moment <= now:
        raise bad("past_deadline", f"截止时间 {moment.astimezone(now.tzinfo):%Y-%m-%d %H:%M} 已经过去", "deadline")
    return moment


async def orgs_by_code(session: AsyncSession, codes: list[str]) -> list[Organisation]:
    if not codes:
        raise bad("unknown_org", "请指定至少一个组织编码", "orgs")
    found = {o.code: o for o in await session.exec(select(Organisation).where(col(Organisation.code).in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise bad("unknown_org", f"没有编码为 {'、'.join(unknown)} 的组织", "orgs")
    return [found[c] for c in dict.fromkeys(codes)]


async def role_orgs(session: AsyncSession, person_id: int) -> list[Organisation]:
    """The roots of the subtrees the person's roles (书记, 副书记, 管理员) cover, highest first."""
    rows = await session.exec(
        select(Organisation).join(Role, Role.org_id == Organisation.id).where(Role.person_id == person_id)  # type: ignore[arg-type]
    )
    return sorted(rows, key=lambda o: len(o.path))


def covering(roots: list[Organisation], org: Organisation) -> Organisation | None:
    """The highest of `roots` whose subtree holds `org`: the organisation a notice to it is issued by."""
    return next((r for r in roots if org.path.startswith(r.path)), None)


def check_within(orgs: list[Organisation], roots: list[Organisation]) -> None:
    outside = [o.name for o in orgs if covering(roots, o) is None]
    if outside:
        raise Refusal(403, "out_of_scope", f"{'、'.join(outside)}不在您的管理范围内", "orgs")


@dataclass(slots=True)
class Sent:
    notice: Notice
    count: int  # outbox rows written
    people: int
    not_before: datetime  # local, aware: when delivery may start (quiet hours, digest slot)
    quiet: bool = False  # held by the quiet hours
    merged: bool = False  # held for the digest: it goes out with the person's other notices of the slot

    def when(self, now: datetime) -> str | None:
        """The line telling the sender when a held notice goes out; None when it goes at once."""
        if self.not_before <= now:
            return None
        head = "现在是休息时段，" if self.quiet else ""
        tail = "与其他通知合并发送" if self.merged else "起发送"
        return f"{head}将于 {self.not_before:%H:%M} {tail}。"


def new_notice(*, org_id: int, author_person_id: int, draft: Draft) -> Notice:
    return Notice(
        org_id=org_id,
        author_person_id=author_person_id,
        text=draft.text,
        urgency=Urgency.urgent if draft.urgent else Urgency.normal,
        wants_receipt=draft.receipt,
        deadline=draft.deadline.astimezone(UTC) if draft.deadline else None,
        audience={"org_ids": draft.org_ids, "who": draft.who},
    )


def digest_slot(local: datetime, minutes: int) -> datetime:
    """The end of the `minutes`-long slot `local` falls in, counted from local midnight. Slots are on the
    clock (10:00, 10:10, ...) rather than `minutes` after each notice, so every notice confirmed within
    one slot becomes due at the same moment, whatever its own confirm time: that is what lets the
    dispatcher find them together and merge them. A notice waits at most `minutes`."""
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=minutes)
    return midnight + -((midnight - local) // step) * step  # ceiling division: `local` itself on a boundary


def hold_until(
    local: datetime, quiet: tuple[time, time] | None, *, urgent: bool, digest_minutes: int = 0
) -> tuple[datetime, bool, bool]:
    """When a notice confirmed at `local` may go out, whether it is quiet hours now, and whether it waits
    for the digest. Urgent notices are never held nor merged; a slot ending in the quiet hours moves
    to their end (where the night's notices all meet anyway)."""
    start = not_before(local, quiet, urgent=urgent)
    quiet_held = start > local
    if urgent or digest_minutes <= 0:
        return start, quiet_held, False
    held = max(start, not_before(digest_slot(local, digest_minutes), quiet, urgent=False))
    return held, quiet_held, held > local


async def confirm(
    *,
    session: AsyncSession,
    notice: Notice,
    people: list[Recipient],
    now: datetime,
    quiet: tuple[time, time] | None,
    digest_minutes: int = 0,
) -> Sent:
    """The one way a notice is confirmed: outbox rows held until the quiet hours end (urgent: at once)
    and, with digests on, until the end of the notice's digest slot."""
    start, quiet_held, merged = hold_until(
        now, quiet, urgent=notice.urgency == Urgency.urgent, digest_minutes=digest_minutes
    )
    count = await confirm_notice(session=session, notice=notice, people=people, not_before=start.astimezone(UTC))
    return Sent(notice, count, len(people), start, quiet_held, merged)


async def create_and_confirm(
    *,
    session: AsyncSession,
    org_id: int,
    author_person_id: int,
    draft: Draft,
    people: list[Recipient],
    now: datetime,
    quiet: tuple[time, time] | None,
    digest_minutes: int = 0,
) -> Sent:
    notice = new_notice(org_id=org_id, author_person_id=author_person_id, draft=draft)
    session.add(notice)
    await session.flush()
    return await confirm(session=session, notice=notice, people=people, now=now, quiet=quiet,
                         digest_minutes=digest_minutes)
