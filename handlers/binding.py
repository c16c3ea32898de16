"""Binding a WeChat identity to a roster entry: `绑定 <邀请码>` on the Official Account, and the WeCom
userid matched from the roster automatically on the first message."""

from typing import Any

from handlers.context import Context, Inbound
from handlers.replies import describe
from handlers.routing import HelpBook, Router, pass_on
from models.binding import bind_by_invite_code, bind_work_user, ensure_identity, first_contact_binding
from models.directory import SenderProfile, profile_of
from models.identity import Platform

router = Router("binding")


@router.command("绑定", "bind")
async def bind_with_code(msg: Inbound, ctx: Context, args: str) -> str:
    if ctx.sender.is_bound:
        return f"您已绑定为{describe(ctx.sender)}，无需再次绑定。"
    code = args.replace(" ", "").upper()
    if not code:
        return "请回复“绑定 邀请码”，例如：绑定 A3K9QX。邀请码向支部书记索取。"
    identity = await ensure_identity(
        session=ctx.session, platform=msg.platform, app_id=msg.app_id, external_id=msg.from_user
    )
    result = await bind_by_invite_code(session=ctx.session, identity=identity, code=code)
    if not result.ok:
        await ctx.session.rollback()
        return f"邀请码“{code}”无效或已被使用，请核对后重试，或向支部书记索取新的邀请码。"
    await ctx.session.commit()
    ctx.forget_sender()
    sender = await ctx.reload_sender() if ctx.reload_sender else ctx.sender
    return f"绑定成功！您好，{describe(sender)}。回复“帮助”查看可用指令。"


async def bind_in_batch(msg: Inbound, ctx: Context) -> SenderProfile | None:
    """A WeCom member's first contact, bound from the roster through the callback path's batches (the
    roster match read with everyone's of that moment, the identity written in the inbound log's group
    commit): after an import thousands open the app within minutes. None when that does not apply — an
    identity already exists, the userid is not on the roster — and the session path answers."""
    hot = ctx.hot
    if hot is None or msg.platform != Platform.work or ctx.sender.identity_id is not None:
        return None
    match = await hot.roster_work_user(msg.from_user)
    if match is None:
        return None
    person_id, person = match
    (written,) = await hot.write([first_contact_binding(platform=msg.platform, app_id=msg.app_id,
                                                        external_id=msg.from_user, person_id=person_id)])
    if not written.done or written.id is None:  # created a moment ago by another message or process
        return None
    hot.learn_sender(msg.platform, msg.app_id, msg.from_user, written.id, person_id, person)
    return profile_of((written.id, True, person_id), person)


def unbound_work_user(msg: Inbound, ctx: Context) -> bool | dict[str, Any]:
    return msg.platform == Platform.work and not ctx.sender.is_bound and not msg.is_event


@router.message(unbound_work_user)
async def bind_work_member(msg: Inbound, ctx: Context) -> str | None:
    """The first message from a WeCom member: bind from the roster, then handle the message itself."""
    if (sender := await bind_in_batch(msg, ctx)) is not None:
        ctx.sender = sender
        return await _answer_as_bound(msg, ctx)
    identity = await ensure_identity(
        session=ctx.session, platform=msg.platform, app_id=msg.app_id, external_id=msg.from_user
    )
    person = await bind_work_user(session=ctx.session, identity=identity)
    await ctx.session.commit()
    if person is None:
        return "您的企业微信账号不在花名册中，请联系所在支部书记核对。"
    ctx.forget_sender()
    if ctx.reload_sender is None:
        return f"您好，{person.name}！已按花名册自动关联您的账号。"
    ctx.sender = await ctx.reload_sender()
    return await _answer_as_bound(msg, ctx)


async def _answer_as_bound(msg: Inbound, ctx: Context) -> str:
    # The routes after this one answer the message as the bound member's. Those before it did not
    # match it and do not look at the sender (delivery reports and follow events, 绑定), and this
    # route is not asked again: a sender still unbound after the reload cannot loop.
    answer = await pass_on(msg, ctx)
    greeting = f"已按花名册自动关联您的账号：{describe(ctx.sender)}。"
    return f"{greeting}\n{answer}" if answer else greeting


def register_help(book: HelpBook) -> None:
    book.add("绑定 邀请码 — 党员绑定身份", "unbound")
