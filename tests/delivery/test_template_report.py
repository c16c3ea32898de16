"""WeChat reports each template message's fate (TEMPLATESENDJOBFINISH). A member who refuses the
Official Account's messages is reached through the group robot of his organisation instead; a report
we cannot match changes nothing; the event is always answered with an empty "success"."""

from sqlalchemy import update
from sqlmodel import col, select

from bot.callbacks.parsing import dedupe_key, to_inbound, xml_fields
from bot.delivery.reports import SYSTEM_FAILED, USER_BLOCK
from models import Delivery, DeliveryStatus
from models.audience import load_recipients
from models.channel_plan import first_choice
from models.clock import utcnow
from models.delivery import Channel
from models.identity import Identity, Platform
from models.inbound import InboundMessage
from models.organisation import Organisation
from tests.delivery.outbox import dispatcher_of, notices
from tests.framing import body
from tests.seed import Roster
from tests.stack import Stack

ROBOT = "emulated-robot-key"


async def _rows(stack: Stack) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def _robot_for(stack: Stack, code: str) -> None:
    async with stack.sessions() as s:
        await s.exec(update(Organisation).where(Organisation.code == code).values(robot_key=ROBOT))  # type: ignore[call-overload]
        await s.commit()


async def _bind_li(stack: Stack) -> None:
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content  # type: ignore[operator]


async def _report(stack: Stack, openid: str, msgid: str, status: str) -> str:
    reply = await stack.phone("mp", openid).send_event("TEMPLATESENDJOBFINISH", None, MsgID=msgid, Status=status)
    assert reply.status == 200 and reply.reply is None  # nothing is said to the user
    return reply.raw


async def test_a_member_who_blocks_templates_is_reached_by_the_robot(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await _robot_for(stack, "C01")  # 李党员's branch B01 has none: its community's robot is the nearest
    stack.emulator.register_user("mp", "o_li", blocked=True)
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    dispatcher = dispatcher_of(stack)

    assert await dispatcher.run_once() == 1
    await stack.emulator.drain()  # WeChat's report of the template has been answered
    [message] = stack.emulator.messages("mp", "o_li")
    assert message.api == "template" and not message.delivered
    template, robot = await _rows(stack)
    assert template.template_msgid == message.msgid
    assert (template.status, template.reason) == (DeliveryStatus.fell_back, USER_BLOCK)
    assert (robot.channel, robot.recipient, robot.status) == (Channel.robot, ROBOT, DeliveryStatus.pending)
    assert robot.reason == f"{USER_BLOCK}；改用组织群机器人@手机号提醒"

    assert await dispatcher.run_once() == 1
    [group] = stack.emulator.messages("robot", ROBOT)
    assert body(group.content) == "第1号通知：请按时参加组织生活"
    assert group.payload["text"]["mentioned_mobile_list"] == ["13900000002"]
    assert (await _rows(stack))[1].status == DeliveryStatus.sent


async def test_a_delivered_template_stays_sent(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await _robot_for(stack, "C01")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])

    assert await dispatcher_of(stack).run_once() == 1
    await stack.emulator.drain()
    [row] = await _rows(stack)  # no robot row
    assert row.status == DeliveryStatus.sent and row.template_msgid == stack.emulator.messages("mp", "o_li")[0].msgid


async def test_a_system_failure_without_a_robot_fails_with_its_reason(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(status=DeliveryStatus.sent, template_msgid="7001"))  # type: ignore[call-overload]
        await s.commit()

    assert await _report(stack, "o_li", "7001", "failed: system failed") == "success"
    [row] = await _rows(stack)
    assert (row.status, row.reason) == (DeliveryStatus.failed, SYSTEM_FAILED)


async def test_a_report_of_an_unknown_msgid_changes_nothing(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await _robot_for(stack, "C01")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(status=DeliveryStatus.sent, template_msgid="7001"))  # type: ignore[call-overload]
        await s.commit()

    assert await _report(stack, "o_li", "9999", "failed:user block") == "success"
    [row] = await _rows(stack)
    assert (row.status, row.template_msgid) == (DeliveryStatus.sent, "7001")


async def test_a_success_settles_the_one_row_whose_dispatcher_died(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(status=DeliveryStatus.unknown))  # type: ignore[call-overload]
        await s.commit()

    assert await _report(stack, "o_li", "7002", "success") == "success"
    [row] = await _rows(stack)
    assert (row.status, row.template_msgid) == (DeliveryStatus.sent, "7002") and row.sent_at is not None


async def test_a_success_leaves_unknown_rows_it_cannot_tell_apart(quiet_stack: Stack, people: Roster) -> None:
    stack = quiet_stack
    await _bind_li(stack)
    await notices(stack, people, 2, [("li", Channel.mp_template, "o_li")])
    async with stack.sessions() as s:
        await s.exec(update(Delivery).values(status=DeliveryStatus.unknown))  # type: ignore[call-overload]
        await s.commit()

    assert await _report(stack, "o_li", "7003", "success") == "success"
    assert [(r.status, r.template_msgid) for r in await _rows(stack)] == [(DeliveryStatus.unknown, None)] * 2


async def test_a_report_is_not_the_members_interaction(quiet_stack: Stack, people: Roster) -> None:
    """WeChat's report must not open the 48 h customer-service window: the member did nothing."""
    stack = quiet_stack
    async with stack.sessions() as s:
        s.add(Identity(platform=Platform.mp, app_id=stack.settings.mp_appid, external_id="o_li",
                       person_id=people.people["li"].id))
        await s.commit()
    stack.emulator.register_user("mp", "o_li")
    await notices(stack, people, 1, [("li", Channel.mp_template, "o_li")])
    assert await dispatcher_of(stack).run_once() == 1
    await stack.emulator.drain()

    async with stack.sessions() as s:
        li = (await load_recipients(session=s, person_ids=[people.people["li"].id], now=utcnow()))[
            people.people["li"].id
        ]
        assert (await s.exec(select(InboundMessage.msg_type))).all() == ["templatesendjobfinish"]
    assert li.mp_last_seen is None and first_choice(li).channel == Channel.mp_template


def test_two_reports_to_one_member_in_the_same_second_are_two_events() -> None:
    """A retry of one report is the same event; reports of two templates differ only by MsgID."""
    def report(msgid: str) -> str:
        return (
            "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[o_li]]></FromUserName>"
            "<CreateTime>1764000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
            "<Status><![CDATA[success]]></Status></xml>"
        )

    def key(msgid: str) -> str:
        return dedupe_key(to_inbound(xml_fields(report(msgid)), Platform.mp, "wx_app"))

    assert key("7001") == key("7001")
    assert key("7001") != key("7002")
