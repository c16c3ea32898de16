"""The organisation's group robot is the last resort: a member who never bound WeChat, or whom no other
channel reaches, is @-mentioned by mobile in the group chat of his organisation (or its nearest
ancestor that has a robot). The preview counts them as reachable; one message mentions them all."""

from sqlalchemy import update
from sqlmodel import col, select

from bot.delivery.channels import NOT_A_MEMBER
from models import Delivery, DeliveryStatus
from models.delivery import Channel
from models.identity import Identity, Platform
from models.organisation import Organisation
from models.person import Person
from tests.delivery.outbox import dispatcher_of, notices
from tests.framing import body
from tests.seed import Roster
from tests.stack import Stack

ROBOT = "emulated-robot-key"
BY_ROBOT = "未绑定微信：通过组织群机器人@手机号提醒"


async def _robot_for(stack: Stack, code: str) -> None:
    async with stack.sessions() as s:
        await s.exec(update(Organisation).where(Organisation.code == code).values(robot_key=ROBOT))  # type: ignore[call-overload]
        await s.commit()


async def _rows(stack: Stack) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).order_by(col(Delivery.id))))


async def _not_in_wecom(stack: Stack, roster: Roster, key: str) -> None:
    """The roster names no WeCom account for the person (otherwise WeCom reaches them by userid)."""
    async with stack.sessions() as s:
        await s.exec(update(Person).where(col(Person.id) == roster.people[key].id).values(work_userid=None))  # type: ignore[call-overload]
        await s.commit()


async def test_unbound_members_are_reached_through_the_robot_with_an_at_mention(
    stack: Stack, roster: Roster
) -> None:
    await _robot_for(stack, "C01")
    await _not_in_wecom(stack, roster, "zhao")
    stack.emulator.register_user("work", "wangshuji")
    wang = stack.phone("work", "wangshuji")
    text = "今晚防汛值班，请党员19点到社区集合"
    answers = (f"通知：{text}", "1", "好", "2", "是", "无")
    replies = [(await wang.send_text(answer)).content or "" for answer in answers]
    summary = replies[-1]
    assert "共 3 人，可送达 3 人" in summary  # 李党员 and 赵党员 never bound WeChat
    assert f"· {BY_ROBOT}：2 人" in summary and "无法送达" not in summary
    assert "已确认" in ((await wang.send_text("确认")).content or "")

    [group] = await stack.emulator.wait_for_messages("robot", ROBOT, within=5.0)
    assert body(group.content) == text and group.content.startswith("【紧急通知 第")
    assert sorted(group.payload["text"]["mentioned_mobile_list"]) == ["13900000002", "13900000003"]
    assert len(await stack.emulator.wait_for_messages("work", "wangshuji", within=5.0)) == 1
    robot_rows = [r for r in await _rows(stack) if r.channel == Channel.robot]
    assert sorted(r.person_id for r in robot_rows) == sorted([roster.people["li"].id, roster.people["zhao"].id])
    assert all(r.reason == BY_ROBOT for r in robot_rows)


async def test_without_a_robot_in_reach_an_unbound_member_stays_unreachable(stack: Stack, roster: Roster) -> None:
    await _robot_for(stack, "C02")  # 和平社区's robot is not 阳光社区's
    await _not_in_wecom(stack, roster, "zhao")
    stack.emulator.register_user("work", "wangshuji")
    wang = stack.phone("work", "wangshuji")
    answers = ("通知：周六大扫除", "1", "好", "2", "是", "无")
    replies = [(await wang.send_text(answer)).content or "" for answer in answers]
    assert "共 3 人，可送达 1 人" in replies[-1] and "无法送达 2 人" in replies[-1]


async def test_a_member_who_left_the_wecom_corp_is_told_through_the_robot(
    quiet_stack: Stack, people: Roster
) -> None:
    stack = quiet_stack
    await _robot_for(stack, "D01")  # only the district has a robot: the nearest ancestor's serves
    async with stack.sessions() as s:
        s.add(Identity(platform=Platform.work, app_id=stack.settings.work_corpid, external_id="zhao_left",
                       person_id=people.people["zhao"].id))
        await s.commit()
    await notices(stack, people, 1, [("zhao", Channel.work_app, "zhao_left")])
    dispatcher = dispatcher_of(stack)

    assert await dispatcher.run_once() == 1
    first, fallback = await _rows(stack)
    assert (first.status, first.reason) == (DeliveryStatus.fell_back, NOT_A_MEMBER)
    assert (fallback.channel, fallback.recipient) == (Channel.robot, ROBOT)
    assert fallback.reason == f"{NOT_A_MEMBER}；改用组织群机器人@手机号提醒"

    assert await dispatcher.run_once() == 1
    [group] = stack.emulator.messages("robot", ROBOT)
    assert group.payload["text"]["mentioned_mobile_list"] == ["13900000003"]
    assert (await _rows(stack))[1].status == DeliveryStatus.sent
