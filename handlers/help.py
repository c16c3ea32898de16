"""`帮助` and the answer to anything the bot does not understand."""

from handlers.context import Context, Inbound
from handlers.replies import FALLBACK, NOT_TEXT, UNBOUND_HINT, audiences, describe, truncate
from handlers.routing import HelpBook, Router, anything, event_is, text_is

router = Router("help")
fallback_router = Router("fallback")
LEAVE_HINT = "\n如需向社区反映情况，请回复“留言 内容”。"
HELP_WORDS = ("帮助", "help", "?", "菜单", "指令", "怎么用", "使用说明")


def help_text(ctx: Context, book: HelpBook) -> str:
    sender = ctx.sender
    lines = book.for_audiences(audiences(sender))
    head = f"您好，{describe(sender)}。" if sender.is_bound else "您好！这里是基层党建服务助手。"
    body = "\n".join(f"· {line}" for line in lines)
    tail = "" if sender.is_bound else "\n" + UNBOUND_HINT
    return f"{head}\n可用指令：\n{body}{tail}"


@router.message(text_is(*HELP_WORDS), pure=True)
async def show_help(msg: Inbound, ctx: Context) -> str:
    return help_text(ctx, ctx.help_book)


@router.message(event_is("click"), lambda msg, _ctx: msg.event_key.upper() == "HELP", pure=True)
async def show_help_from_menu(msg: Inbound, ctx: Context) -> str:
    return help_text(ctx, ctx.help_book)


@fallback_router.message(anything, pure=True)
async def not_understood(msg: Inbound, ctx: Context) -> str | None:
    if msg.is_event:
        return None  # events we do not handle need no answer
    if msg.msg_type != "text":
        return NOT_TEXT
    if not msg.text:
        return FALLBACK.format(text="").replace("“”", "空消息")
    answer = FALLBACK.format(text=truncate(msg.text))
    # A bound person's words that are no command may be something to tell the community: say how.
    return answer + LEAVE_HINT if ctx.sender.is_bound else answer


def register_help(book: HelpBook) -> None:
    book.add("帮助 — 查看本说明", "unbound", "member", "resident", "unit_rep", "secretary")
