"""`发通知` / `通知 <内容>`: a secretary composes a notice in the chat, one short question at a time,
sees a preview and confirms. The conversation is kept in the database (it survives a restart); while
it is open, the secretary's plain replies go to it."""

from typing import Any

from handlers.confirm_step import CANCEL_WORDS as CANCEL_WORDS
from handlers.confirm_step import CONFIRM_WORDS as CONFIRM_WORDS
from handlers.confirm_step import in_conversation
from handlers.context import Context, Inbound
from handlers.notices import parsing
from handlers.notices.questions import QUESTIONS
from handlers.notices.steps import STEPS, compose, show_preview
from handlers.routing import HelpBook, Router, pass_on
from handlers.text import split_command
from models.audit import record_audit
from models.conversation import Conversation, end_conversation, open_conversation, start_conversation
from models.notice import Notice, NoticeStatus
from models.notice_queries import org_choices
from models.notice_send import Refusal, confirm

router = Router("notices")
KIND = "notice"
START_WORDS = ("发通知", "通知")
REFUSAL = "只有书记、副书记和管理员可以发通知。"
EXPIRED = "上次的发通知已超过30分钟未操作，已自动结束，需要时请重新回复“发通知”。"
_SEPARATORS = " :：,，"


def starts_notice(msg: Inbound, _ctx: Context) -> bool | dict[str, Any]:
    if msg.msg_type != "text":
        return False
    for word in START_WORDS:
        rest = split_command(msg.text, word)
        # "通知 内容" / "通知：内容" start a notice; "通知收到了" is just a sentence that begins alike.
        glued = word == "通知" and len(msg.text) > len(word) and msg.text[len(word)] not in _SEPARATORS
        if rest is not None and not glued:
            # The notice keeps what was typed (full-width punctuation included): only the command word
            # and the separator after it go.
            raw = msg.content.strip()
            return {"args": raw[len(word) :].lstrip(_SEPARATORS + "\u3000") if raw.startswith(word) else rest}
    return False


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


@router.message(starts_notice)
async def start(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.is_secretary or sender.person_id is None:
        record_audit(session=ctx.session, action="notice.refused", actor=_actor(msg),
                     actor_person_id=sender.person_id, text=msg.text[:100])
        await ctx.session.commit()
        ctx.forget_sender()
        return REFUSAL
    old = await open_conversation(session=ctx.session, person_id=sender.person_id)
    if old is not None:
        await _cancel_draft(ctx, old)
    choices = await org_choices(session=ctx.session, root_ids=[g.org_id for g in sender.roles])
    data = {"choices": [[c.org_id, c.label, c.path] for c in choices], "text": args[:2000],
            "deeper": [c.org_id for c in choices if c.has_children]}
    conv = await start_conversation(session=ctx.session, person_id=sender.person_id, kind=KIND, step="orgs",
                                    data=data)
    await ctx.session.commit()
    ctx.forget_sender()
    head = f"开始发通知，内容：{args}\n" if args else "开始发通知。\n"
    return head + QUESTIONS["orgs"](conv.data)


@router.message(in_conversation(KIND))
async def answer(msg: Inbound, ctx: Context) -> str | None:
    assert ctx.sender.person_id is not None  # a sender in a conversation is a person
    conv = await open_conversation(session=ctx.session, person_id=ctx.sender.person_id)
    if conv is None or conv.kind != KIND:
        return await _pass_on(msg, ctx)
    if conv.is_idle(ctx.now):
        await _cancel_draft(ctx, conv, reason="expired")
        await ctx.session.commit()
        ctx.forget_sender()
        rest = await _pass_on(msg, ctx)
        return f"{EXPIRED}\n{rest}" if rest else EXPIRED
    text = msg.text
    if parsing.flat(text) in CANCEL_WORDS:
        await _cancel_draft(ctx, conv, actor=_actor(msg))
        await ctx.session.commit()
        ctx.forget_sender()
        return "已取消，本条通知不会发送。"
    if conv.step == "confirm" and parsing.flat(text) in CONFIRM_WORDS:
        reply = await _confirm(msg, ctx, conv)
        await ctx.session.commit()
        ctx.forget_sender()
        return reply
    if conv.step == "confirm":
        reply = f"没看懂“{text[:12]}”。请回复“确认”发送，或回复“取消”放弃。"
    else:
        # The notice itself keeps what the secretary typed (full-width punctuation included).
        answer = msg.content.strip() if conv.step == "text" else text
        reply = await STEPS[conv.step](ctx, conv, answer)
    ctx.session.add(conv)
    await ctx.session.commit()
    ctx.forget_sender()
    return reply


async def _pass_on(msg: Inbound, ctx: Context) -> str | None:
    """Not part of a conversation: the message goes to the routers after this one."""
    return await pass_on(msg, ctx)


async def _confirm(msg: Inbound, ctx: Context, conv: Conversation) -> str:
    notice = await ctx.session.get(Notice, conv.notice_id) if conv.notice_id else None
    if notice is None or notice.status != NoticeStatus.draft:
        reply = await show_preview(ctx, conv)  # the draft went missing: show it again
        ctx.session.add(conv)
        return reply
    try:
        composed = await compose(ctx, conv)  # checked again: the roster may have changed since the preview
    except Refusal:
        reply = await show_preview(ctx, conv)
        ctx.session.add(conv)
        return reply
    sent = await confirm(session=ctx.session, composed=composed, author_person_id=conv.person_id, notice=notice,
                         quiet=ctx.settings.quiet_window, digest_minutes=ctx.settings.digest_minutes)
    record_audit(session=ctx.session, action="notice.confirm", actor=_actor(msg), actor_person_id=conv.person_id,
                 org_id=notice.org_id, notice_id=notice.id, recipients=sent.count, people=sent.people)
    await end_conversation(session=ctx.session, conv=conv)
    return "\n".join(sent.answer(ctx.now))


async def _cancel_draft(ctx: Context, conv: Conversation, *, actor: str = "", reason: str = "cancel") -> None:
    notice = await ctx.session.get(Notice, conv.notice_id) if conv.notice_id else None
    if notice is not None and notice.status == NoticeStatus.draft:
        notice.status = NoticeStatus.cancelled
        ctx.session.add(notice)
    record_audit(session=ctx.session, action="notice.cancel", actor=actor, actor_person_id=conv.person_id,
                 org_id=notice.org_id if notice else None, notice_id=conv.notice_id, step=conv.step, reason=reason)
    await end_conversation(session=ctx.session, conv=conv)
    await ctx.session.flush()


def register_help(book: HelpBook) -> None:
    book.add("发通知 — 向本组织发通知（也可“通知 内容”）", "secretary")
