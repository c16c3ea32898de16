"""The people a visitor can chat as: the seed's notable people, a member or two still to bind with their
invite code, every unit representative, and a newcomer who has not followed the Official Account yet.

Persona ids are stable for one database ("p<person id>"), so a reloaded page finds its persona again."""

import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.demo.queries import (
    BindingState,
    PersonFacts,
    bind_in_advance,
    first_community,
    people_by_phone,
    unbound_members,
    unit_representatives,
)
from bot.roster.demo_seed import demo_personas
from models.identity import Platform
from models.person import PersonKind

GROUPS = ("书记", "党员", "居民", "驻区单位")
GROUP_OF_KIND = {PersonKind.member: "党员", PersonKind.resident: "居民", PersonKind.unit_rep: "驻区单位"}
PLATFORM_NAMES = {Platform.mp: "公众号", Platform.work: "企业微信"}
NEWCOMER = "newcomer"
UNBOUND_MEMBERS = 2


@dataclass(frozen=True, slots=True)
class Community:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Persona:
    id: str
    name: str
    role: str  # "阳光社区书记", "流动党员", "居民"
    group: str  # one of GROUPS
    platform: Platform
    user_id: str  # openid or WeCom userid
    detail: str = ""  # primary organisation or unit
    person_id: int | None = None  # None: the newcomer, not in the roster

    @property
    def actions(self) -> dict[str, str]:
        """Action id → button label; what a real phone could do besides typing."""
        if self.platform == Platform.work:
            return {"enter_agent": "进入应用"}
        members = {"signin": "扫会场签到码"} if self.group in ("党员", "书记") else {}
        return {"scan": "扫码", **members, "subscribe": "关注", "unsubscribe": "取消关注"}

    def to_dict(self, state: BindingState, community: Community) -> dict[str, Any]:
        bound = (self.platform.value, self.user_id) in state.bound
        # WeCom members have a code too, but bind from the roster: only the Official Account needs one.
        wants_code = self.platform == Platform.mp and not bound
        code = state.invite_codes.get(self.person_id) if wants_code and self.person_id is not None else None
        labels = self.actions
        if "scan" in labels:
            labels["scan"] = f"扫码关注{community.name}" if self.id == NEWCOMER else f"扫{community.name}二维码"
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "group": self.group,
            "platform": self.platform.value,
            "platform_name": PLATFORM_NAMES[self.platform],
            "detail": self.detail,
            "bound": bound,
            "invite_code": code,
            "hint": _hint(self, bound, code, community),
            "actions": [{"id": k, "label": v} for k, v in labels.items()],
        }


def _hint(persona: Persona, bound: bool, code: str | None, community: Community) -> str:
    if bound:
        return "已绑定" if persona.platform == Platform.mp else "已按花名册关联"
    if persona.id == NEWCOMER:
        return f"还没关注公众号：点「扫码关注{community.name}」加入社区"
    if persona.platform == Platform.work:
        return "首次发消息时按花名册自动关联"
    if code:
        return f"未绑定，邀请码 {code}：发送“绑定 {code}”试试"
    return "未绑定"


def _persona(facts: PersonFacts, role: str) -> Persona:
    platform = Platform.work if facts.work_userid else Platform.mp
    return Persona(
        id=f"p{facts.id}",
        name=facts.name,
        role=role,
        group="书记" if facts.has_role else GROUP_OF_KIND[facts.kind],
        platform=platform,
        user_id=facts.work_userid or demo_openid(facts.id),
        detail=facts.unit_name or facts.org_name,
        person_id=facts.id,
    )


def demo_openid(person_id: int) -> str:
    return f"o_demo_{person_id}"


def _member_role(facts: PersonFacts) -> str:
    flags = [("流动党员", facts.is_mobile), ("在职党员", facts.is_in_service), ("离退休党员", facts.is_retired)]
    return next((name for name, on in flags if on), "党员") + "（未绑定）"


async def _bound_persona(session: AsyncSession, mp_app_id: str, facts: PersonFacts, role: str) -> Persona:
    persona = _persona(facts, role)
    if persona.platform == Platform.mp:
        await bind_in_advance(session=session, app_id=mp_app_id, openid=persona.user_id, person=facts)
    return persona


async def prepare_personas(*, session: AsyncSession, mp_app_id: str) -> tuple[list[Persona], Community]:
    """Pick the personas and bind the Official Account ones that should be bound already; the caller
    commits. WeCom personas are left to bind themselves from the roster on their first message."""
    curated = demo_personas()
    facts = await people_by_phone(session=session, phones=[c.phone for c in curated])
    chosen = [await _bound_persona(session, mp_app_id, facts[c.phone], c.role) for c in curated if c.phone in facts]
    taken = {p.person_id for p in chosen if p.person_id is not None}
    for rep in await unit_representatives(session=session):
        if rep.id not in taken:
            role = f"{rep.unit_name}代表" if rep.unit_name else "驻区单位代表"
            chosen.append(await _bound_persona(session, mp_app_id, rep, role))
            taken.add(rep.id)
    for member in await unbound_members(session=session, exclude=taken, limit=UNBOUND_MEMBERS):
        chosen.append(_persona(member, _member_role(member)))
    org = await first_community(session=session)
    community = Community(org.code, org.name) if org else Community("", "社区")
    newcomer = Persona(
        id=NEWCOMER, name="新居民", role="新居民（未关注）", group="居民", platform=Platform.mp,
        user_id=f"o_demo_new_{secrets.token_hex(4)}", detail=f"想加入{community.name}",
    )
    chosen.append(newcomer)
    chosen.sort(key=lambda p: GROUPS.index(p.group))  # stable: the seed's order within a group
    return chosen, community
