"""Members bind their WeChat to the roster; residents join a community by scanning its QR code."""

from sqlmodel import select

from models import AuditEntry, Identity, Membership, Person, PersonKind
from tests.seed import Roster
from tests.stack import Stack


async def test_a_member_binds_with_the_invite_code_from_the_secretary(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    before = await phone.send_text("帮助")
    assert "绑定 邀请码" in before.content

    reply = await phone.send_text("绑定 li2345")

    assert "绑定成功" in reply.content and "李党员" in reply.content and "阳光社区第一党支部" in reply.content
    after = await phone.send_text("帮助")
    assert "李党员" in after.content and "绑定 邀请码" not in after.content


async def test_full_width_and_punctuation_are_forgiven(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_li").send_text("　绑定：ＬＩ２３４５！")
    assert "绑定成功" in reply.content


async def test_a_used_or_wrong_code_is_refused_with_a_hint(stack: Stack, roster: Roster) -> None:
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content
    forwarded = await stack.phone("mp", "o_someone_else").send_text("绑定 LI2345")
    assert "无效或已被使用" in forwarded.content
    empty = await stack.phone("mp", "o_x").send_text("绑定")
    assert "例如" in empty.content


async def test_a_wecom_member_is_bound_from_the_roster_and_the_first_message_is_answered(
    stack: Stack, roster: Roster
) -> None:
    reply = await stack.phone("work", "zhaody").send_text("帮助")

    assert "已按花名册自动关联" in reply.content and "赵党员" in reply.content
    assert "可用指令" in reply.content  # the 帮助 itself was handled too
    async with stack.sessions() as s:
        identity = (await s.exec(select(Identity).where(Identity.external_id == "zhaody"))).one()
        assert identity.person_id == roster.people["zhao"].id


async def test_a_wecom_user_missing_from_the_roster_is_told_whom_to_ask(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("work", "stranger").send_text("你好")
    assert "不在花名册" in reply.content


async def test_a_resident_scans_the_community_qr_code_and_joins(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_resident").send_event("subscribe", "qrscene_C01")

    assert "欢迎" in reply.content and "阳光社区" in reply.content
    async with stack.sessions() as s:
        identity = (await s.exec(select(Identity).where(Identity.external_id == "o_resident"))).one()
        person = await s.get(Person, identity.person_id)
        assert person is not None and person.kind == PersonKind.resident
        home = (await s.exec(select(Membership).where(Membership.person_id == person.id))).one()
        assert home.org_id == roster.orgs["C01"].id and home.is_primary
        assert (await s.exec(select(AuditEntry).where(AuditEntry.action == "resident.join"))).one()

    # Scanning another community's code while following moves the resident's home.
    moved = await stack.phone("mp", "o_resident").send_event("SCAN", "C02")
    assert "和平社区" in moved.content


async def test_an_unknown_qr_scene_gets_a_clear_answer(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("mp", "o_r").send_event("subscribe", "qrscene_NOPE")
    assert "二维码已失效" in reply.content


async def test_unfollowing_is_remembered(stack: Stack, roster: Roster) -> None:
    phone = stack.phone("mp", "o_li")
    await phone.send_text("绑定 LI2345")
    reply = await phone.send_event("unsubscribe")
    assert reply.status == 200
    async with stack.sessions() as s:
        identity = (await s.exec(select(Identity).where(Identity.external_id == "o_li"))).one()
        assert identity.following is False and identity.person_id == roster.people["li"].id
