"""The running service sends what is in the outbox: a confirmed notice reaches the member's phone."""

import asyncio

from sqlmodel import select

from models import Channel, Delivery, DeliveryStatus
from tests.conftest import running_stack
from tests.delivery.outbox import confirmed_notice
from tests.framing import bodies
from tests.seed import Roster, seed_small_roster
from tests.stack import Stack


async def _queue(stack: Stack, roster: Roster, text: str, person: str, channel: Channel, recipient: str) -> None:
    """A notice of 王书记 confirmed with one outbox row, as the chat would leave it."""
    async with stack.sessions() as s:
        await confirmed_notice(s, roster, text, [(person, channel, recipient)])
        await s.commit()


async def test_a_queued_notice_is_delivered_by_the_service_itself(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "zhaody")
    await _queue(stack, roster, "周五下午三点在社区会议室召开支部党员大会", "zhao", Channel.work_app, "zhaody")

    received = await stack.emulator.wait_for_messages("work", "zhaody", within=5)

    assert bodies(received) == ["周五下午三点在社区会议室召开支部党员大会"]
    for _ in range(50):  # the row is settled right after the send returns
        async with stack.sessions() as s:
            row = (await s.exec(select(Delivery))).one()
        if row.status not in (DeliveryStatus.in_flight, DeliveryStatus.sending):
            break
        await asyncio.sleep(0.05)
    assert row.status == DeliveryStatus.sent


async def test_the_service_sends_templates_with_the_configured_template_id(database_url: str) -> None:
    """Each account has its own template id: the service uses the one configured, not a built-in one."""
    async with running_stack(database_url, mp_template_id="TPL_ACCOUNT_7") as stack:
        roster = await seed_small_roster(stack.sessions)
        stack.emulator.config.template_ids.add("TPL_ACCOUNT_7")
        stack.emulator.register_user("mp", "o_li")
        await _queue(stack, roster, "周五下午三点开支部党员大会", "li", Channel.mp_template, "o_li")

        [message] = await stack.emulator.wait_for_messages("mp", "o_li", within=5)

    assert message.api == "template" and message.payload["template_id"] == "TPL_ACCOUNT_7"
