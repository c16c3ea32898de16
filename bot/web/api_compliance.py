"""`GET /api/compliance?org=CODE&period=2026-11|2026-Q4|2026`: each branch and group under the
organisation against the 三会一课 obligations (models/obligations.py), and the list of those behind.
Bearer tokens as for notices, scoped to the token's subtree."""

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.keys import SESSIONS, SETTINGS
from bot.web.api_edge import answer, authorised, queried_org, refused
from models.api_token import ApiToken
from models.meeting import KIND_NAMES
from models.notice_send import Refusal, RefusalKind
from models.obligations import Compliance, ObligationState, compliance, parse_obligations, parse_period

DEFINITIONS = {
    "required": "报告期内已开始的各考核周期应召开次数之和",
    "held": "报告期内记录为已召开（已召开）的会议次数",
    "ok": "报告期内已结束的考核周期均达到应召开次数（当前周期尚未结束时不计为未达标）",
    "missing": "未达标的已结束考核周期",
}


def _state(state: ObligationState) -> dict[str, Any]:
    o = state.obligation
    return {"kind": o.kind.value, "kind_name": KIND_NAMES[o.kind], "every": o.every.value, "times": o.times,
            "required": state.required, "held": state.held, "ok": state.ok, "missing": state.missing}


def compliance_json(result: Compliance) -> dict[str, Any]:
    period = result.period
    return {
        "org": result.root.code, "name": result.root.name, "period": period.label, "period_name": period.name(),
        "from": period.start.isoformat(), "to": (period.end - timedelta(days=1)).isoformat(),
        "organisations": [{"org": o.org.code, "name": o.org.name, "level": o.org.level.value, "ok": o.ok,
                           "obligations": [_state(s) for s in o.obligations]} for o in result.organisations],
        "behind": [{"org": o.org.code, "name": o.org.name,
                    "missing": [KIND_NAMES[s.obligation.kind] for s in o.obligations if not s.ok]}
                   for o in result.behind],
        "definitions": DEFINITIONS,
    }


async def get_compliance(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    now = datetime.now(settings.tz)
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        try:
            token, scope = await authorised(session, request)
            org = await queried_org(session, request, scope)
            raw = request.query.get("period", f"{now.year}-{now.month:02d}")
            period = parse_period(raw)
            if period is None:
                raise Refusal(RefusalKind.bad_request, "bad_period", "period 应为 2026-11、2026-Q4 或 2026")
        except Refusal as refusal:
            return await refused(session, refusal, token, action="compliance.refused")
        result = await compliance(session=session, root=org, period=period,
                                  obligations=parse_obligations(settings.meeting_obligations), today=now.date())
    return answer(200, compliance_json(result))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/compliance", get_compliance)
