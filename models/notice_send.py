"""A notice composed once for the chat, the JSON API and the CLI: who may send to which organisations,
checking a request, the preview with its near-duplicate check (`compose_notice`), and confirming it
into the outbox with quiet hours and digest slots applied (`confirm`). The edges only translate the
answer: a `Refusal` names its kind, and each edge says it its own way (an HTTP status, a chat line,
an exit code)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audience import Recipient
from models.clock import utcnow
from models.notice import Notice, NoticeStatus, Urgency, Who
from models.notice_queries import Preview, preview, recipients_for
from models.notice_similarity import similar_recent, warning
from models.organisation import Organisation, in_subtree
from models.outbox import queue_messages
from models.person import Role
from models.quiet_hours import not_before
from models.subject import Subject
from models.tasks import is_task_to_secretaries, secretaries_of
from models.typed import id_of

MAX_TEXT = 2000


class RefusalKind(StrEnum):
    bad_request = "bad_request"  # the request itself is wrong (a field, an unknown organisation)
    not_allowed = "not_allowed"  # outside the sender's scope, or the sender may not send at all
    near_duplicate = "near_duplicate"  # 社区减负: the same notice went to these organisations lately


class Refusal(Exception):
    """A request we do not carry out: `error` for programs, `reason` in Chinese for people."""

    def __init__(self, kind: RefusalKind, error: str, reason: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.kind, self.error, self.reason, self.field, self.extra = kind, error, reason, field, extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "reason": self.reason, "field": self.field, **self.extra}


def bad(error: str, reason: str, field: str | None = None) -> Refusal:
    return Refusal(RefusalKind.bad_request, error, reason, field)


@dataclass(slots=True)
class Draft:
    orgs: list[Organisation]
    who: list[Who]
    text: str
    urgent: bool = False
    receipt: bool = True
    deadline: datetime | None = None  # aware

    @property
    def org_ids(self) -> list[int]:
        return [o.id for o in self.orgs if o.id is not None]


def who_of(names: list[str]) -> list[Who]:
    """The audience names as the API and the CLI give them (党员, 书记, ...), in menu order."""
    known = {w.value: w for w in Who}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        choices = "、".join(w.value for w in Who)
        raise bad("unknown_who", f"不认识的对象“{'、'.join(unknown)}”，可选：{choices}" if unknown
                  else f"请指定发给哪些人，可选：{choices}", "who")
    return [w for w in Who if w.value in names]


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
        select(Organisation).join(Role, col(Role.org_id) == Organisation.id).where(Role.person_id == person_id)
    )
    return sorted(rows, key=lambda o: len(o.path))


def covering(roots: list[Organisation], org: Organisation) -> Organisation | None:
    """The highest of `roots` whose subtree holds `org`: the organisation a notice to it is issued by."""
    return next((r for r in roots if in_subtree(org.path, r.path)), None)


def check_within(orgs: list[Organisation], roots: list[Organisation]) -> None:
    outside = [o.name for o in orgs if covering(roots, o) is None]
    if outside:
        raise Refusal(RefusalKind.not_allowed, "out_of_scope", f"{'、'.join(outside)}不在您的管理范围内", "orgs")


@dataclass(slots=True)
class Composed:
    """A checked notice before 确认: who it reaches, and a near-duplicate of the last 24 h if any."""

    draft: Draft
    issuing: Organisation  # the sender's organisation whose subtree holds the first chosen one
    people: list[Recipient]
    preview: Preview
    similar: Notice | None
    now: datetime

    @property
    def warning(self) -> str:
        """The 社区减负 warning ("" when there is no near-duplicate)."""
        return warning(self.similar, self.now) if self.similar is not None else ""

    def check_duplicate(self, *, force: bool, hint: str) -> None:
        """A near-duplicate is refused unless the sender insists (`force`); `hint` says how to."""
        if self.similar is not None and not force:
            assert self.similar.confirmed_at is not None
            raise Refusal(RefusalKind.near_duplicate, "near_duplicate", f"{self.warning}。{hint}",
                          earlier={"id": self.similar.id, "text": self.similar.text,
                                   "confirmed_at": self.similar.confirmed_at.isoformat()})


async def compose_notice(
    *, session: AsyncSession, draft: Draft, roots: list[Organisation], now: datetime
) -> Composed:
    """The one check of a notice, whichever edge it comes from: the chosen organisations lie inside
    `roots` (the subtrees the sender's roles or the API token cover), somebody is reached, and a
    near-duplicate is found. Raises `Refusal`."""
    if not roots:
        raise Refusal(RefusalKind.not_allowed, "no_role", "只有书记、副书记和管理员可以发通知")
    check_within(draft.orgs, roots)
    people = await recipients_for(session=session, org_ids=draft.org_ids, who=draft.who,
                                  task=draft.deadline is not None)
    if not people:
        raise bad("no_recipients", "所选组织中没有符合条件的人", "who")
    issuing = covering(roots, draft.orgs[0])
    assert issuing is not None  # check_within passed
    similar = await similar_recent(session, draft.org_ids, draft.text, now)
    return Composed(draft, issuing, people, preview(people), similar, now)


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

    def answer(self, now: datetime) -> list[str]:
        """What the sender is told at 确认, honestly: "正在发送" only when it is; a notice held by the
        quiet hours says when it goes and how to send it at once."""
        number = f"（编号 {self.notice.id}）"
        when = self.when(now)
        if when is None:
            return [f"已确认，正在发送给 {self.count} 人{number}"]
        lines = [f"已确认，将发送给 {self.count} 人{number}", when]
        if self.quiet:
            lines.append(f"如需立即发送，请回复“紧急 {self.notice.id}”。")
        return lines


def fill_notice(notice: Notice, draft: Draft) -> Notice:
    """The draft's content on a notice row (a new one, or the chat's draft kept during the preview)."""
    notice.text = draft.text
    notice.urgency = Urgency.urgent if draft.urgent else Urgency.normal
    notice.wants_receipt = draft.receipt
    notice.deadline = draft.deadline.astimezone(UTC) if draft.deadline else None
    notice.audience = {"org_ids": draft.org_ids, "who": [w.value for w in draft.who]}
    return notice


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
    composed: Composed,
    author_person_id: int,
    quiet: tuple[time, time] | None,
    digest_minutes: int = 0,
    notice: Notice | None = None,
) -> Sent:
    """The one way a notice is confirmed: the notice row (`notice`: the chat's draft, else a new one)
    becomes confirmed and one outbox row per reachable person is queued, held until the quiet hours
    end (urgent: at once) and, with digests on, until the end of the notice's digest slot."""
    draft, now = composed.draft, composed.now
    notice = fill_notice(notice or Notice(org_id=id_of(composed.issuing), author_person_id=author_person_id, text=""),
                         draft)
    notice.status = NoticeStatus.confirmed
    notice.confirmed_at = utcnow()
    session.add(notice)
    await session.flush()
    start, quiet_held, merged = hold_until(now, quiet, urgent=draft.urgent, digest_minutes=digest_minutes)
    org_of: dict[int, int | None] = {}
    if is_task_to_secretaries(notice):  # each target organisation's secretaries answer for it
        org_of.update(await secretaries_of(session=session, org_ids=draft.org_ids))
    queued = await queue_messages(session=session, subject=Subject.notice(notice.id), recipients=composed.people,
                                  not_before=start.astimezone(UTC), org_of=org_of)
    return Sent(notice, queued.rows, len(composed.people), start, quiet_held, merged)
