"""The secretaries' web session: a signed cookie naming the person and the organisation whose subtree
they may see, re-checked against the roles on every request (a removed secretary loses access)."""

from dataclasses import dataclass

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.organisation import Organisation, in_subtree
from models.person import Person, Role

COOKIE = "gr_session"
MAX_AGE = 8 * 3600


@dataclass(frozen=True, slots=True)
class WebUser:
    person: Person
    scope: Organisation

    def may_see(self, org: Organisation) -> bool:
        return in_subtree(org.path, self.scope.path)


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="grassroots-web-session")


def set_session(response: web.StreamResponse, secret: str, person_id: int, org_id: int, secure: bool) -> None:
    value = serializer(secret).dumps({"p": person_id, "o": org_id})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax", secure=secure)


async def current_user(request: web.Request, session: AsyncSession, secret: str) -> WebUser | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = serializer(secret).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    role = (
        await session.exec(select(Role).where(Role.person_id == data["p"], Role.org_id == data["o"]))
    ).first()
    if role is None:
        return None
    person = await session.get(Person, data["p"])
    scope = await session.get(Organisation, data["o"])
    return WebUser(person, scope) if person and scope else None
