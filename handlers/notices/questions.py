"""The questions of the 发通知 conversation, and the preview shown before 确认."""

from datetime import datetime
from typing import Any

from models.message_frame import when_words
from models.notice import Who
from models.notice_queries import Preview
from models.notice_send import MAX_TEXT

CANCEL_HINT = "（随时回复“取消”放弃）"
UNREACHABLE_NAMES = 5
# The chat's menu of who a notice is for, by number (the notice stores the names).
WHO_MENU: dict[int, Who] = dict(enumerate(Who, 1))


def ask_orgs(data: dict[str, Any]) -> str:
    """One level at a time: 含下级 says the people of the organisations below are reached too."""
    listing = "\n".join(f"{i}. {label}" for i, (_id, label, _path) in enumerate(data["choices"], 1))
    lines = [f"发给哪些组织？回复编号或名称，可多选（如“1 3”），或回复“全部”：\n{listing}"]
    if data.get("deeper"):
        lines.append("“含下级”表示也发给其下级组织的人；回复“下一级 编号”可只选其中的下级组织。")
    if data.get("under"):
        lines.append("回复“上一级”回到上一层。")
    lines.append(CANCEL_HINT)
    return "\n".join(lines)


def ask_who(_data: dict[str, Any]) -> str:
    options = " ".join(f"{n} {who.value}" for n, who in WHO_MENU.items())
    return f"发给哪些人？回复编号，可多选：\n{options}\n直接回复“好”即发给党员。"


def ask_text(_data: dict[str, Any]) -> str:
    return f"请输入通知内容（{MAX_TEXT}字以内）："


def ask_urgency(_data: dict[str, Any]) -> str:
    return "紧急程度：回复 1 普通 2 紧急（紧急通知夜间也立即发送）"


def ask_receipt(_data: dict[str, Any]) -> str:
    return "是否需要对方回复“收到”确认？回复 是 或 否"


def ask_deadline(_data: dict[str, Any]) -> str:
    return "如果是任务，请回复截止时间（如 明天、下周一上午9点、3天后；只写日期即当天17:30）；不是任务请回复“无”"


QUESTIONS = {
    "orgs": ask_orgs,
    "who": ask_who,
    "text": ask_text,
    "urgency": ask_urgency,
    "receipt": ask_receipt,
    "deadline": ask_deadline,
}


def not_understood(answer: str, question: str, hint: str = "") -> str:
    shown = answer if len(answer) <= 12 else answer[:12] + "…"
    return f"没看懂“{shown}”。{hint}\n{question}"


def reach_lines(view: Preview, names_shown: int = UNREACHABLE_NAMES) -> list[str]:
    """Who the notice reaches, by channel, and the names it cannot reach (the chat and the CLI)."""
    lines = [f"共 {view.total} 人，可送达 {view.total - len(view.unreachable)} 人"]
    lines += [f"· {reason}：{n} 人" for reason, n in view.by_channel.most_common()]
    if view.unreachable:
        names = "、".join(view.unreachable[:names_shown])
        more = f"等 {len(view.unreachable)} 人" if len(view.unreachable) > names_shown else ""
        lines.append(f"无法送达 {len(view.unreachable)} 人（未绑定微信）：{names}{more}")
    return lines


def _deadline_words(value: str | None) -> str:
    if not value:
        return "无（普通通知）"
    if "T" not in value:  # a conversation begun before times were understood kept a day
        return value
    moment = datetime.fromisoformat(value)
    return when_words(moment, moment.tzinfo)


def summary(data: dict[str, Any], view: Preview, similar: str = "") -> str:
    """`similar`: the near-duplicate warning (社区减负), which then replaces the closing line."""
    chosen = {org_id for org_id in data["orgs"]}
    orgs = "、".join(label.strip("　").split("（")[0] for org_id, label, _ in data["choices"] if org_id in chosen)
    who = "、".join(data["who"])
    deadline = _deadline_words(data.get("deadline"))
    lines = [
        "请核对通知：",
        f"对象：{orgs} · {who}",
        f"内容：{data['text']}",
        f"紧急程度：{'紧急' if data['urgent'] else '普通'}；需回复“收到”：{'是' if data['receipt'] else '否'}",
        f"截止时间：{deadline}",
    ]
    lines += reach_lines(view)
    if similar:
        lines.append(f"注意：{similar}。仍要发送请回复“确认”，不发请回复“取消”。")
    else:
        lines.append("回复“确认”发送，“取消”放弃")
    return "\n".join(lines)
