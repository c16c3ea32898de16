"""`合规 [期间] [组织代码]`: a secretary's view of the 三会一课 obligations of the branches and groups in
their scope over a month (default this month), a quarter (2026-Q4) or a year, with the link to the
phone page that draws a bar per organisation."""

from handlers.context import Context, Inbound
from handlers.links import compliance_url
from handlers.routing import HelpBook, Router
from models.meeting import KIND_NAMES
from models.obligations import Compliance, ObligationState, compliance, parse_obligations, parse_period
from models.organisation import Organisation, get_org_by_code
from models.typed import id_of

router = Router("compliance")
ONLY_SECRETARIES = "“合规”只对书记、副书记和管理员开放。"
MAX_LISTED = 8
USAGE = "请回复“合规”（本月）、“合规 2026-Q4”（季度）、“合规 2026”（全年），可加组织代码。"


def _short(states: list[ObligationState]) -> str:
    return "，".join(f"{KIND_NAMES[s.obligation.kind]} {s.held}/{s.required}" for s in states)


def summary(result: Compliance) -> list[str]:
    orgs = result.organisations
    lines = [f"{result.root.name} {result.period.name()} 三会一课：", f"党支部、党小组 {len(orgs)} 个，"
             f"达标 {len(orgs) - len(result.behind)} 个，未达标 {len(result.behind)} 个。"]
    for item in result.behind[:MAX_LISTED]:
        lines.append(f"· 未达标 {item.org.name}：{_short([s for s in item.obligations if not s.ok])}")
    due = [o for o in orgs if o.ok and o.gaps]
    for item in due[:MAX_LISTED]:
        lines.append(f"· 待召开 {item.org.name}：{_short(item.gaps)}")
    hidden = max(0, len(result.behind) - MAX_LISTED) + max(0, len(due) - MAX_LISTED)
    if hidden:
        lines.append(f"另有 {hidden} 个组织，详见页面。")
    return lines


@router.command("合规", "三会一课")
async def show_compliance(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    period = parse_period(f"{ctx.now.year}-{ctx.now.month:02d}")
    grant = sender.roles[0]
    root: Organisation | None = None
    for word in args.split():
        if (asked := parse_period(word.replace("q", "Q"))) is not None:
            period = asked
            continue
        org = await get_org_by_code(session=ctx.session, code=word.upper())
        if org is None or not any(org.path.startswith(g.org_path) for g in sender.roles):
            return f"没有找到“{word[:20]}”，或不在您的管理范围内。{USAGE}"
        root = org
    if root is None:
        root = await ctx.session.get(Organisation, grant.org_id)
    assert period is not None and root is not None
    result = await compliance(session=ctx.session, root=root, period=period,
                              obligations=parse_obligations(ctx.settings.meeting_obligations), today=ctx.now.date())
    if not result.organisations:
        return f"{root.name}下没有党支部或党小组，无需统计三会一课。"
    link = compliance_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), id_of(root),
                          sender.person_id, period.label)
    return "\n".join([*summary(result), f"详情：{link}"])


def register_help(book: HelpBook) -> None:
    book.add("合规 [2026-Q4] — 三会一课完成情况", "secretary")
