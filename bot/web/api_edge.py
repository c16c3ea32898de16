"""What the JSON APIs share (`/api/notices`, `/api/meetings`): bearer tokens scoped to one
organisation's subtree on behalf of a secretary whose role must still cover it, bodies read with a size
limit, typed fields, and refusals answered with a status, a reason in Chinese and an audit entry."""

import json
from typing import Any

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from models.api_token import ApiToken, find_active_token
from models.audit import record_audit
from models.notice_send import Refusal, RefusalKind, bad, covering, role_orgs
from models.organisation import Organisation, get_org_by_code

MAX_BODY = 64 * 1024
STATUS = {RefusalKind.bad_request: 400, RefusalKind.not_allowed: 403, RefusalKind.near_duplicate: 409}


class HttpRefusal(Refusal):
    """A refusal only this edge knows (no token, a body too large), with its HTTP status."""

    def __init__(self, status: int, error: str, reason: str, **extra: Any) -> None:
        super().__init__(RefusalKind.not_allowed, error, reason, **extra)
        self.status = status


def status_of(refusal: Refusal) -> int:
    return refusal.status if isinstance(refusal, HttpRefusal) else STATUS[refusal.kind]


def answer(status: int, body: dict[str, Any], **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None, dumps=_dumps)


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


async def authorised(session: AsyncSession, request: web.Request) -> tuple[ApiToken, Organisation]:
    """The token and its organisation, or a 401 (no/bad/revoked token) or 403 (role gone)."""
    scheme, _, plaintext = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not plaintext.strip():
        raise HttpRefusal(401, "missing_token", "缺少访问令牌（Authorization: Bearer <令牌>）")
    token = await find_active_token(session=session, plaintext=plaintext.strip())
    if token is None:
        raise HttpRefusal(401, "bad_token", "访问令牌无效或已撤销")
    org = await session.get(Organisation, token.org_id)
    assert org is not None
    if covering(await role_orgs(session, token.person_id), org) is None:
        raise Refusal(RefusalKind.not_allowed, "no_role", f"令牌所代表的人员已不再担任{org.name}的书记、副书记或管理员",
                      token_id=token.id)
    return token, org


async def refused(session: AsyncSession, refusal: Refusal, token: ApiToken | None, *, action: str,
                  **detail: Any) -> web.Response:
    """The refusal's answer, its audit entry committed (the request wrote nothing else)."""
    record_audit(session=session, action=action, actor=f"api:{token.id}" if token else "api",
                 actor_person_id=token.person_id if token else None, org_id=token.org_id if token else None,
                 channel="api", status=status_of(refusal), error=refusal.error, reason=refusal.reason, **detail)
    await session.commit()
    headers = {"WWW-Authenticate": "Bearer"} if status_of(refusal) == 401 else {}
    return answer(status_of(refusal), refusal.body(), **headers)


async def json_body(request: web.Request) -> dict[str, Any]:
    too_large = HttpRefusal(413, "too_large", f"请求内容超过 {MAX_BODY // 1024} KiB")
    if (request.content_length or 0) > MAX_BODY:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_BODY:
        raise too_large
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad("bad_json", "请求内容不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise bad("bad_json", "请求内容应是一个 JSON 对象")
    return body


_TYPE_NAMES = {bool: "true 或 false", str: "字符串", list: "字符串列表", int: "整数", dict: "JSON 对象"}


def field(body: dict[str, Any], name: str, kind: type[Any], default: Any) -> Any:
    """`body[name]` of `kind` (a list: of strings; an int: not a bool), or `default` when absent."""
    value = body.get(name, default)
    if value is None and default is None:
        return None
    wrong = not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)) or (
        kind is int and isinstance(value, bool))
    if wrong:
        raise bad("bad_field", f"{name} 应为{_TYPE_NAMES[kind]}", name)
    return value


async def queried_org(session: AsyncSession, request: web.Request, scope: Organisation) -> Organisation:
    """The organisation `?org=CODE` names (the token's own without it), within the token's subtree."""
    code = request.query.get("org", scope.code)
    org = await get_org_by_code(session=session, code=code)
    if org is None or not org.path.startswith(scope.path):
        raise Refusal(RefusalKind.not_allowed, "out_of_scope", f"组织 {code[:20]} 不存在或不在令牌的管理范围内")
    return org
