"""The phone page of `合规`: for each branch and group in the secretary's organisation, a bar per
obligation (held against required over the period), those behind first, the definitions below."""

from datetime import datetime

from aiohttp import web

from bot.keys import SESSIONS, SETTINGS
from bot.web.api_compliance import DEFINITIONS
from bot.web.layout import esc, message_page, page
from bot.web.meeting_scope import no_store
from handlers.links import read_compliance_token
from models.meeting import KIND_NAMES
from models.notice_send import covering, role_orgs
from models.obligations import OrgCompliance, compliance, parse_obligations, parse_period
from models.organisation import Organisation

BAD_LINK = "链接无效或已过期。请在微信中重新发送“合规”获取新链接。"
_CSS = (".bar{height:10px;background:#eee;border-radius:5px;margin:4px 0 8px}.bar b{display:block;height:10px;"
        "border-radius:5px;background:#c8161d}.ok b{background:#2e7d32}.row{font-size:14px}"
        ".tag{font-size:12px;padding:1px 6px;border-radius:8px;margin-left:6px;background:#fdecea;color:#c8161d}"
        ".tag.ok{background:#e8f5e9;color:#2e7d32}")


def _card(item: OrgCompliance) -> str:
    rows = []
    for state in item.obligations:
        share = min(100, round(100 * state.held / state.required)) if state.required else 100
        missing = f"（未达标：{'、'.join(state.missing)}）" if state.missing else ""
        rows.append(f'<div class="row">{esc(KIND_NAMES[state.obligation.kind])} {state.held}/{state.required}'
                    f'{esc(missing)}</div><div class="bar{" ok" if state.ok else ""}"><b style="width:{share}%"></b>'
                    "</div>")
    tag = '<span class="tag ok">达标</span>' if item.ok else '<span class="tag">未达标</span>'
    return f'<div class="card"><strong>{esc(item.org.name)}</strong>{tag}{"".join(rows)}</div>'


async def compliance_page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    read = read_compliance_token(settings.secret_key.get_secret_value(), request.match_info["token"])
    period = parse_period(read[2]) if read is not None else None
    if read is None or period is None:
        return message_page("无法打开", BAD_LINK, status=403)
    org_id, person_id, _label = read
    now = datetime.now(settings.tz)
    async with request.app[SESSIONS]() as session:
        root = await session.get(Organisation, org_id)
        if root is None or covering(await role_orgs(session, person_id), root) is None:
            return message_page("无权查看", "这个组织不在您的管理范围内。", status=403)
        result = await compliance(session=session, root=root, period=period,
                                  obligations=parse_obligations(settings.meeting_obligations), today=now.date())
    ordered = sorted(result.organisations, key=lambda o: (o.ok, o.org.path))
    head = (f'<div class="card"><strong>{esc(root.name)} · {esc(period.name())}</strong>'
            f'<p class="muted">党支部、党小组 {len(ordered)} 个，未达标 {len(result.behind)} 个；'
            "只计记录为已召开的会议。</p></div>")
    notes = "".join(f"<li>{esc(k)}：{esc(v)}</li>" for k, v in DEFINITIONS.items())
    body = head + "".join(_card(o) for o in ordered) + f'<div class="card muted"><ul>{notes}</ul></div>'
    return no_store(page("三会一课 · 合规", body, head=f"<style>{_CSS}</style>"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/m/compliance/{token}", compliance_page)
