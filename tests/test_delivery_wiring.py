"""The running service sends what is in the outbox: a confirmed notice reaches the member's phone."""

import asyncio

from sqlmodel import select

from models import Channel, Delivery, DeliveryStatus, Notice, NoticeStatus
from tests.seed import Roster
from tests.stack import Stack


async def test_a_queued_notice_is_delivered_by_the_service_itself(stack: Stack, roster: Roster) -> None:
    stack.emulator.register_user("work", "zhaody")
    async with stack.sessions() as s:
        notice = Notice(org_id=roster.orgs["C01"].id, author_person_id=roster.people["wang"].id,  # type: ignore[arg-type]
                        text="周五下午三点在社区会议室召开支部党员大会", status=NoticeStatus.confirmed)
        s.add(notice)
        await s.flush()
        s.add(Delivery(notice_id=notice.id, person_id=roster.people["zhao"].id, channel=Channel.work_app,  # type: ignore[arg-type]
                       recipient="zhaody", reason="企业微信应用消息"))
        await s.commit()

    received = await stack.emulator.wait_for_messages("work", "zhaody", within=5)

    assert [m.content for m in received] == ["周五下午三点在社区会议室召开支部党员大会"]
    for _ in range(50):  # the row is settled right after the send returns
        async with stack.sessions() as s:
            row = (await s.exec(select(Delivery))).one()
        if row.status != DeliveryStatus.in_flight:
            break
        await asyncio.sleep(0.05)
    assert row.status == DeliveryStatus.sent
