"""`后台`: a secretary gets a one-time link (10 minutes) to the phone pages of their subtree."""

from datetime import timedelta

from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from models.login import issue_login_token
from models.person import ROLE_NAMES

router = Router("admin_link")
LINK_TTL = timedelta(minutes=10)


@router.command("后台", "管理", "admin")
async def admin_link(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return "“后台”只对书记、副书记和管理员开放。"
    grants = sender.roles
    if len(grants) > 1 and not args:
        listing = "\n".join(f"{i}. {g.org_name}（{ROLE_NAMES[g.kind]}）" for i, g in enumerate(grants, 1))
        first = grants[0]
        choose = f"您在多个组织任职，回复“后台 编号”进入对应组织：\n{listing}\n"
    else:
        choose = ""
        index = int(args) if args.isdigit() else 1
        if not 1 <= index <= len(grants):
            return f"没有编号 {args}，请回复“后台”查看可选组织。"
        first = grants[index - 1]
    token = await issue_login_token(
        session=ctx.session, person_id=sender.person_id, org_id=first.org_id, ttl=LINK_TTL
    )
    await ctx.session.commit()
    url = f"{ctx.settings.public_url}/admin/login?t={token}"
    return f"{choose}{first.org_name}管理页面（10分钟内有效，仅限本人使用一次）：\n{url}"


def register_help(book: HelpBook) -> None:
    book.add("后台 — 获取管理页面链接", "secretary")
