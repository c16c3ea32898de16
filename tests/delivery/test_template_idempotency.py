"""Template messages are sent at most once, also after a timeout or a crash: every send carries a
client_msg_id derived from its row, a resend carries the same one, and a resend is only made inside
the 10 minutes in which WeChat drops a repeat. A delivery report that overtakes the settling of its
send waits, without polling, until the dispatcher has stored the msgid."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.delivery.reports import USER_BLOCK, apply_waiting_reports
from models import Delivery, DeliveryStatus, WaitingReport
from models.clock import utcnow
from models.delivery import Channel
from models.outbox import claim_due, mark_sending, settle_claimed
from tests.delivery.outbox import dispatcher_of, notices
from tests.seed import Roster
from tests.stack import Stack


async def _rows(stack: Stack) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def test_a_template_send_carries_the_rows_client_msg_id_and_its_retry_the_same(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    stack.emulator.register_user("mp", "o_li")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    stack.emulator.force_error("template/send", -1)  # WeChat busy: the row is retried
    dispatcher = dispatcher_of(stack)

    assert await dispatcher.run_once() == 1
    [row] = await _rows(stack)
    # WeChat answered: nothing arrived, so no resend window binds the retry.
    assert row.status == DeliveryStatus.retry and row.unanswered_at is None
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(next_attempt_at=utcnow()))  # type: ignore[call-overload]
        await s.commit()
    assert await dispatcher.run_once() == 1

    first, second = stack.emulator.calls("template/send")
    assert first.body["client_msg_id"] == second.body["client_msg_id"] == row.client_msg_id
    assert len(row.client_msg_id.encode()) <= 64 and str(row.id) in row.client_msg_id
    [sent] = await _rows(stack)
    assert sent.status == DeliveryStatus.sent and sent.template_msgid == stack.emulator.messages("mp", "o_li")[0].msgid
    await stack.emulator.drain()


async def test_a_template_retry_never_falls_outside_the_client_msg_id_window(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    stack.emulator.register_user("mp", "o_li")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:  # a try almost ten minutes ago went unanswered (a timeout)
        await s.exec(update(Delivery).values(unanswered_at=utcnow() - timedelta(minutes=9)))  # type: ignore[call-overload]
        await s.commit()
    stack.emulator.force_error("template/send", -1)

    assert await dispatcher_of(stack).run_once() == 1

    # A repeat could now reach the member twice: it may have arrived, so it is not sent again.
    [row] = await _rows(stack)
    assert row.status == DeliveryStatus.unknown and "可能已送达" in row.reason


async def test_a_report_that_overtakes_its_send_is_kept_and_applied_when_the_send_settles(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:  # a dispatcher has claimed the row and is sending it
        [claimed] = await claim_due(session=s, limit=10, lease=timedelta(seconds=60))
        await mark_sending(session=s, rows=[claimed], lease=timedelta(seconds=60))
        await s.commit()

    reply = await stack.phone("mp", "o_li").send_event(
        "TEMPLATESENDJOBFINISH", None, MsgID="90001", Status="failed:user block"
    )

    assert reply.status == 200 and reply.reply is None  # answered at once, nobody waits for the outbox
    async with stack.sessions() as s:
        [kept] = list(await s.exec(select(WaitingReport)))
        assert (kept.openid, kept.msgid) == ("o_li", "90001")
        # The send returns with that msgid and settles; the kept report is applied with it.
        values: dict[str, object] = {"status": DeliveryStatus.sent, "sent_at": utcnow(), "errcode": 0,
                                     "template_msgid": "90001"}
        await settle_claimed(session=s, outcomes=[(claimed.id, claimed.attempts, values)])  # type: ignore[list-item]
        assert await apply_waiting_reports(session=s, sent={("o_li", "90001")}, now=utcnow()) == 1
        await s.commit()
        assert list(await s.exec(select(WaitingReport))) == []
    [row] = await _rows(stack)
    assert (row.status, row.reason) == (DeliveryStatus.failed, USER_BLOCK)


async def test_a_template_whose_dispatcher_died_before_settling_is_resent_and_arrives_once(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    stack.emulator.register_user("mp", "o_li")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    assert await dispatcher_of(stack).run_once() == 1
    [first] = stack.emulator.messages("mp", "o_li")
    async with stack.sessions() as s:  # as if the dispatcher had died after the send, before settling it
        await s.exec(update(Delivery).values(  # type: ignore[call-overload]
            status=DeliveryStatus.sending, lease_until=utcnow() - timedelta(seconds=1), template_msgid=None,
            sent_at=None, sending_at=utcnow() - timedelta(seconds=61),
        ))
        await s.commit()

    assert await dispatcher_of(stack).run_once() == 1  # the survivor recovers the row and sends it again

    again = stack.emulator.calls("template/send")[-1]
    assert again.body["client_msg_id"] == stack.emulator.calls("template/send")[0].body["client_msg_id"]
    assert again.duplicate  # WeChat dropped the repeat
    assert stack.emulator.messages("mp", "o_li") == [first]  # the member has it once
    [row] = await _rows(stack)
    assert (row.status, row.template_msgid, row.attempts) == (DeliveryStatus.sent, first.msgid, 2)
    await stack.emulator.drain()


async def test_a_success_report_that_overtakes_its_send_needs_no_keeping(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:
        claimed = await claim_due(session=s, limit=10, lease=timedelta(seconds=60))
        await mark_sending(session=s, rows=claimed, lease=timedelta(seconds=60))
        await s.commit()

    reply = await stack.phone("mp", "o_li").send_event("TEMPLATESENDJOBFINISH", None, MsgID="90002", Status="success")

    assert reply.status == 200 and reply.reply is None
    async with stack.sessions() as s:
        assert list(await s.exec(select(WaitingReport))) == []  # its send settles as sent by itself
    [row] = await _rows(stack)
    assert row.status == DeliveryStatus.sending
