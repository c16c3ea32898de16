"""`日程` (我的日程 · 日历): a member's next meetings and the private link of their calendar feed, to
subscribe to once in the phone's own calendar, which then shows every meeting they are invited to."""

from handlers.context import Context, Inbound
from handlers.links import calendar_url
from handlers.routing import HelpBook, Router
from models.meeting import describe, open_meetings_for
from models.person import PersonKind

router = Router("calendar")
UNBOUND = "请先回复“绑定 邀请码”绑定党员身份。"
ONLY_MEMBERS = "日程订阅只对党员开放。"
SHOWN = 3
HOW_TO_ADD = "苹果手机：设置 → 日历 → 账户 → 添加已订阅的日历；安卓可在日历应用中“添加日历 → 通过网址”。"


@router.command("我的日程", "日程", "日历")
async def my_calendar(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if sender.person_id is None:
        return UNBOUND
    if sender.kind is not None and sender.kind != PersonKind.member:
        return ONLY_MEMBERS  # meetings invite members only: a resident's feed would stay empty
    coming = await open_meetings_for(session=ctx.session, person_id=sender.person_id, now=ctx.now)
    if coming:
        head = "您近期的会议：\n" + "\n".join(f"第 {m.id} 号：{describe(m, ctx.now.tzinfo)}" for m in coming[:SHOWN])
    else:
        head = "您近期没有待参加的会议。"
    link = calendar_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), sender.person_id)
    return f"{head}\n订阅到手机日历：{link}（请勿转发，链接只属于您）\n{HOW_TO_ADD}"


def register_help(book: HelpBook) -> None:
    book.add("日程 — 查看近期会议，获取订阅到手机日历的链接", "member")
