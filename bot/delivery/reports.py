"""TEMPLATESENDJOBFINISH: WeChat's delivery report of a template message (FromUserName = openid,
MsgID, Status `success` / `failed:user block` / `failed: system failed`), handled by the delivery
code, not by a chat handler: the callback path hands the event here and answers an empty "success".

The rows are found by the msgid stored when the send settled: one, or all the rows of a digest (one
template for several notices). A failed template falls back to the organisation's group robot when
one is in reach. A report that overtakes the settling of its send is kept (models/waiting_report.py)
and applied by the dispatcher right after it stores the msgid: nobody waits or polls (a success needs
no keeping: its send settles as sent anyway)."""

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from handlers.context import Inbound
from models.audience import load_recipients
from models.channel_plan import next_choice
from models.clock import utcnow
from models.delivery import Channel, Delivery, reported_rows, template_in_flight, unknown_templates
from models.outbox import report_delivered, report_failed
from models.waiting_report import keep_report, take_reports

log = logging.getLogger(__name__)

USER_BLOCK = "用户拒收公众号消息"
SYSTEM_FAILED = "微信系统原因未送达"


def failure_reason(status: str) -> str | None:
    """None for a delivered template; else the reason shown on the progress page."""
    flat = status.replace(" ", "").lower()
    if flat == "success":
        return None
    return USER_BLOCK if "userblock" in flat else SYSTEM_FAILED


async def on_template_report(*, session: AsyncSession, openid: str, msgid: str, status: str, now: datetime) -> None:
    """Applies one report (the caller commits)."""
    reason = failure_reason(status)
    rows = await reported_rows(session=session, openid=openid, msgid=msgid) if msgid else []
    if rows:
        await _apply(session, rows, reason, now)
        return
    if msgid and await template_in_flight(session=session, openid=openid):
        # The report overtook the settling of its send. A success changes nothing (the send settles as
        # sent); a failure is kept for the dispatcher to apply once the msgid is stored.
        if reason is not None:
            await keep_report(session=session, openid=openid, msgid=msgid, status=status)
        return
    if msgid and reason is None:
        # A row whose dispatcher died mid-send is unknown and never stored the msgid: a success report
        # settles it as sent only when it is the openid's one unknown template row.
        unknown = await unknown_templates(session=session, openid=openid)
        if len(unknown) == 1:
            await report_delivered(session=session, rows=unknown, msgid=msgid)
            return
    log.warning("template report for an unknown msgid %r (%s, %s): ignored", msgid, openid, status)


async def apply_waiting_reports(*, session: AsyncSession, sent: Iterable[tuple[str, str]], now: datetime) -> int:
    """The kept reports of template sends just settled (openid, msgid)."""
    reports = await take_reports(session=session, sent=sent)
    for report in reports:
        rows = await reported_rows(session=session, openid=report.openid, msgid=report.msgid)
        await _apply(session, rows, failure_reason(report.status), now)
    return len(reports)


async def _apply(session: AsyncSession, rows: Sequence[Delivery], reason: str | None, now: datetime) -> None:
    if reason is None:
        await report_delivered(session=session, rows=rows)
        return
    people = await load_recipients(session=session, person_ids={r.person_id for r in rows}, now=now)
    for row in rows:  # a digest: every notice it carried failed with it
        person = people.get(row.person_id)
        choice = next_choice(person, Channel.mp_template) if person is not None else None
        robot = choice if choice is not None and choice.channel == Channel.robot else None
        await report_failed(session=session, row=row, reason=reason, person=person, choice=robot, now=now)


class TemplateReports:
    """The callback path's hook for TEMPLATESENDJOBFINISH events (bot/callbacks/service.py)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def __call__(self, msg: Inbound) -> None:
        msgid = (msg.raw.get("MsgID") or msg.raw.get("MsgId") or "").strip()
        async with self.sessions() as session:
            await on_template_report(session=session, openid=msg.from_user, msgid=msgid,
                                     status=msg.raw.get("Status", ""), now=utcnow())
            await session.commit()
