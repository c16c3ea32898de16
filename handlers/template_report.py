"""TEMPLATESENDJOBFINISH: WeChat's delivery report of a template message (FromUserName = openid,
MsgID, Status `success` / `failed:user block` / `failed: system failed`). The rows are found by the
msgid stored when the send settled: one, or all the rows of a digest (one template for several
notices). A failed template falls back to the organisation's group robot when one is in reach. The
event is answered with an empty "success": the user sees nothing."""

import asyncio
import logging
import time

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.context import Context, Inbound
from handlers.routing import Router
from models.audience import Recipient, attach_channels
from models.channel_plan import add_fallback_row, next_choice
from models.clock import utcnow
from models.delivery import Channel, Delivery, DeliveryStatus
from models.person import Person

log = logging.getLogger(__name__)
router = Router("template_report")

USER_BLOCK = "用户拒收公众号消息"
SYSTEM_FAILED = "微信系统原因未送达"
# The report can overtake the settling of its send (the dispatcher settles a whole batch at once): a
# report for an openid with a template row still in flight waits this long for the msgid to appear.
SETTLE_WAIT = 30.0
SETTLE_POLL = 0.2  # the first pause; it doubles (up to SETTLE_POLL_MAX), so hundreds of early reports
SETTLE_POLL_MAX = 3.2  # arriving while a big round is still sending do not poll the outbox five times a second
REPORTABLE = (DeliveryStatus.sent, DeliveryStatus.unknown)


def failure_reason(status: str) -> str | None:
    """None for a delivered template; else the reason shown on the progress page."""
    flat = status.replace(" ", "").lower()
    if flat == "success":
        return None
    return USER_BLOCK if "userblock" in flat else SYSTEM_FAILED


async def _by_msgid(session: AsyncSession, openid: str, msgid: str) -> list[Delivery]:
    found = await session.exec(
        select(Delivery)
        .where(Delivery.msgid == msgid, Delivery.channel == Channel.mp_template, Delivery.recipient == openid)
        .order_by(col(Delivery.id))
    )
    return list(found)


async def _in_flight(session: AsyncSession, openid: str) -> bool:
    found = await session.exec(
        select(Delivery.id).where(
            Delivery.status == DeliveryStatus.in_flight,
            Delivery.channel == Channel.mp_template,
            Delivery.recipient == openid,
        )
    )
    return found.first() is not None


async def find_reported(session: AsyncSession, openid: str, msgid: str) -> list[Delivery]:
    """The template rows of the report, waiting a while for a send of this openid still settling."""
    deadline = time.monotonic() + SETTLE_WAIT
    pause = SETTLE_POLL
    while True:
        rows = await _by_msgid(session, openid, msgid)
        if rows or time.monotonic() >= deadline or not await _in_flight(session, openid):
            return rows
        await session.rollback()  # end the read, so the next one sees the dispatcher's commit
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, SETTLE_POLL_MAX)


async def _settle_unknown_success(session: AsyncSession, openid: str, msgid: str) -> bool:
    """A row whose dispatcher died mid-send is `unknown`: a success report with a msgid we never stored
    settles it as sent only when it is the openid's one unknown template row."""
    unknown = list(
        await session.exec(
            select(Delivery).where(
                Delivery.status == DeliveryStatus.unknown,
                Delivery.channel == Channel.mp_template,
                Delivery.recipient == openid,
            )
        )
    )
    if len(unknown) != 1:
        return False
    result = await session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id) == unknown[0].id, Delivery.status == DeliveryStatus.unknown)
        .values(status=DeliveryStatus.sent, sent_at=utcnow(), errcode=0, msgid=msgid[:64], reason="")
    )
    return result.rowcount == 1


async def _fail(session: AsyncSession, row: Delivery, reason: str) -> None:
    """Failed, or fell back when the person's organisation has a group robot in reach."""
    now = utcnow()
    name = (await session.exec(select(Person.name).where(Person.id == row.person_id))).first() or ""
    person = Recipient(row.person_id, name)
    await attach_channels(session=session, people={row.person_id: person}, now=now)
    choice = next_choice(person, Channel.mp_template)
    falls_back = choice.channel == Channel.robot
    result = await session.exec(  # type: ignore[call-overload]
        update(Delivery)
        .where(col(Delivery.id) == row.id, col(Delivery.status).in_(REPORTABLE))
        .values(status=DeliveryStatus.fell_back if falls_back else DeliveryStatus.failed, reason=reason)
    )
    if result.rowcount == 1 and falls_back:
        await add_fallback_row(
            session=session,
            failed=row,
            channel=Channel.robot,
            recipient=choice.recipient,
            reason=f"{reason}；{choice.reason}",
            now=now,
        )


@router.event("templatesendjobfinish")
async def template_report(msg: Inbound, ctx: Context) -> None:
    openid = msg.from_user
    msgid = (msg.raw.get("MsgID") or msg.raw.get("MsgId") or "").strip()
    status = msg.raw.get("Status", "")
    reason = failure_reason(status)
    session = ctx.session
    rows = await find_reported(session, openid, msgid) if msgid else []
    if not rows:
        if reason is None and msgid and await _settle_unknown_success(session, openid, msgid):
            await session.commit()
            return None
        log.warning("template report for an unknown msgid %r (%s, %s): ignored", msgid, openid, status)
        return None
    if reason is None:
        unknown = [r.id for r in rows if r.status == DeliveryStatus.unknown]
        if unknown:
            await session.exec(  # type: ignore[call-overload]
                update(Delivery)
                .where(col(Delivery.id).in_(unknown), Delivery.status == DeliveryStatus.unknown)
                .values(status=DeliveryStatus.sent, sent_at=utcnow(), errcode=0, reason="")
            )
    else:
        for row in rows:  # a digest: every notice it carried failed with it
            await _fail(session, row, reason)
    await session.commit()
    return None
