"""Short Chinese texts shared by several handlers."""

from models.directory import SenderProfile
from models.person import PERSON_KIND_NAMES, ROLE_NAMES

FALLBACK = "没看懂“{text}”。回复“帮助”查看可用指令。"
NOT_TEXT = "暂时只能处理文字消息。回复“帮助”查看可用指令。"
SYSTEM_BUSY = "系统繁忙，请稍后再试。"
UNBOUND_HINT = "党员请回复“绑定 邀请码”（邀请码向支部书记索取）；居民请扫描所在社区的二维码加入。"


def describe(sender: SenderProfile) -> str:
    """"张伟（阳光社区第一党支部 党员；阳光社区 书记）"."""
    parts = []
    if sender.kind is not None:
        kind = PERSON_KIND_NAMES[sender.kind]
        parts.append(f"{sender.primary_org_name} {kind}" if sender.primary_org_name else kind)
    parts.extend(f"{g.org_name} {ROLE_NAMES[g.kind]}" for g in sender.roles)
    return f"{sender.name}（{'；'.join(parts)}）" if parts else sender.name


def audiences(sender: SenderProfile) -> list[str]:
    if not sender.is_bound or sender.kind is None:
        return ["unbound"]
    result = [sender.kind.value]
    if sender.is_secretary:
        result.append("secretary")
    return result


def truncate(text: str, limit: int = 12) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
