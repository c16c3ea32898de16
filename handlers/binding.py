"""Binding a WeChat identity to a roster entry: `绑定 <邀请码>` on the Official Account, and the WeCom
userid matched from the roster automatically on the first message."""

from typing import Any

from handlers.context import Context, Inbound
from handlers.replies import describe
from handlers.routing import Finish, HelpBook, Outcome, Reply, Router, pass_on, pass_on_if_pure, write_now
from models.binding import bind_by_invite_code, bind_work_user, ensure_identity, first_contact_binding
from models.directory import PersonEntry, SenderProfile, bound_profile
from models.identity import Platform
from models.row_writes import Written

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


def unbound_work_user(msg: Inbound, ctx: Context) -> bool | dict[str, Any]:
    return msg.platform == Platform.work and not ctx.sender.is_bound and not msg.is_event


class FirstContact:
    """A WeCom member's first contact, bound from the roster on the callback path (the roster match from
    the in-memory directory, the identity written in the inbound log's group commit): after an import
    thousands open the app within minutes."""

    def __init__(self, msg: Inbound, ctx: Context, person_id: int, person: PersonEntry) -> None:
        self.msg, self.ctx, self.person_id, self.person = msg, ctx, person_id, person
        # How the sender will look once bound (their identity's id is known only after the write).
        self.sender = bound_profile(None, True, person_id, person)

    @classmethod
    async def of(cls, msg: Inbound, ctx: Context) -> "FirstContact | None":
        """None when that does not apply — not the callback path, an identity already exists, the
        userid is not on the roster — and the session path answers."""
        if ctx.hot is None or msg.platform != Platform.work or ctx.sender.identity_id is not None:
            return None
        match = ctx.hot.roster_work_user(msg.from_user)
        return None if match is None else cls(msg, ctx, *match)

    def finish(self, reply: Reply) -> Finish:
        """The binding with the answer to give once it is written. An identity created a moment ago by
        another of the person's messages (the insert found it) is not bound here: they are asked to
        send again, and then their identity is read."""
        msg = self.msg
        rows = [first_contact_binding(platform=msg.platform, app_id=msg.app_id, external_id=msg.from_user,
                                      person_id=self.person_id)]

        def answer(written: list[Written]) -> Reply:
            return reply if written[0].done else "正在为您关联账号，请稍后再发一次。"

        def learn(written: list[Written]) -> None:
            # This process knows them now: their next message needs no read.
            if written[0].done and written[0].id is not None and self.ctx.hot is not None:
                self.ctx.hot.learn_sender(msg.platform, msg.app_id, msg.from_user, written[0].id,
                                          self.person_id, self.person, written[0].version)

        return Finish(rows, answer, learn)

    async def bind_now(self) -> SenderProfile | None:
        """The binding written on its own (the message is logged first); the bound sender, or None when
        the identity existed."""
        written = await write_now(self.finish(None), self.ctx)
        if not written[0].done or written[0].id is None:
            return None
        return bound_profile(written[0].id, True, self.person_id, self.person)


@router.message(unbound_work_user, batched=True)
async def bind_work_member(msg: Inbound, ctx: Context) -> Outcome:
    """The first message from a WeCom member: bind from the roster, then handle the message itself."""
    if (first := await FirstContact.of(msg, ctx)) is not None:
        ctx.sender = first.sender
        known, answer = await pass_on_if_pure(msg, ctx)
        if known:  # help, chatter: answered with the binding, in one write
            return first.finish(_greet(ctx.sender, answer))
        # The message goes on to a handler with effects of its own: the binding is written first.
        if (bound := await first.bind_now()) is not None:
            ctx.sender = bound
            return await _answer_as_bound(msg, ctx)
    await ctx.log_first()  # the session path writes: the message is logged first
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
    return _greet(ctx.sender, await pass_on(msg, ctx))


def _greet(sender: SenderProfile, answer: Reply) -> str:
    greeting = f"已按花名册自动关联您的账号：{describe(sender)}。"
    return f"{greeting}\n{answer}" if answer else greeting


def register_help(book: HelpBook) -> None:
    book.add("绑定 邀请码 — 党员绑定身份", "unbound")
