"""What the short chat conversations that wait for 确认 share (补发 N, 下发 N; the 发通知 flow uses the
filter): the filter that finds a sender in one, and the first look at an answer — not ours any more,
lapsed after 30 minutes, or called off — before the command's own handling."""

from collections.abc import Callable

from handlers.context import Context, Inbound
from handlers.help import HELP_WORDS
from handlers.routing import Filter, command, pass_on
from handlers.text import flat
from models.conversation import Conversation, end_conversation, open_conversation

# Compared without spaces and punctuation (flat): "好的，发吧" and "好的发吧" are one answer.
CANCEL_WORDS = ("取消", "放弃", "算了", "退出", "不发了", "算了不发了", "先不发", "不发", "不要发了", "取消发送")
CONFIRM_WORDS = ("确认", "确定", "发送", "确认发送", "发吧", "好的发吧", "好发吧", "可以发", "可以发了", "发", "没问题",
                 "确认无误", "好的发送")


def in_conversation(kind: str) -> Filter:
    """A text from a sender in a `kind` conversation (part of the cached profile: no database look-up);
    帮助 still gets the help."""
    def match(msg: Inbound, ctx: Context) -> bool:
        return msg.msg_type == "text" and ctx.sender.conversation == kind and msg.text.lower() not in HELP_WORDS

    return match


def secretary_command(*words: str) -> Filter:
    """Only a (bound) secretary's message is this command; anyone else's goes on to the help."""
    def match(msg: Inbound, ctx: Context) -> bool | dict[str, str]:
        if not ctx.sender.roles or ctx.sender.person_id is None:
            return False
        return command(*words)(msg, ctx)

    return match


async def open_or_done(
    msg: Inbound, ctx: Context, kind: str, *, cancelled: Callable[[Conversation], str], expired: str
) -> tuple[Conversation | None, str | None]:
    """(the conversation, None) when the answer is for it; else (None, the reply): it is not open any
    more (the message goes on), it lapsed (said, and the message goes on) or it was called off."""
    assert ctx.sender.person_id is not None  # a sender in a conversation is a person
    conv = await open_conversation(session=ctx.session, person_id=ctx.sender.person_id)
    if conv is None or conv.kind != kind:
        return None, await pass_on(msg, ctx)
    called_off = flat(msg.text) in CANCEL_WORDS
    if not called_off and not conv.is_idle(ctx.now):
        return conv, None
    await end_conversation(session=ctx.session, conv=conv)
    await ctx.session.commit()
    ctx.forget_sender()
    if called_off:
        return None, cancelled(conv)
    rest = await pass_on(msg, ctx)
    return None, f"{expired}\n{rest}" if rest else expired


def confirmed(msg: Inbound) -> bool:
    return flat(msg.text) in CONFIRM_WORDS
