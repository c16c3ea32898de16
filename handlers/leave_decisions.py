"""A secretary answers the 请假 the bot told them of: `批准` / `同意` or `不批准 说明` / `不同意`. With one
leave waiting the bare word decides it; with several the bot lists them and asks for the name
(`批准 张三`, `不批准 张三 会议重要，请务必参加`), the meeting's number (`批准 3`) or `批准 全部`. The member
learns the answer (models/leave_requests.py); everything is audited."""

import re
from dataclasses import dataclass

from handlers.confirm_step import secretary_command
from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from handlers.text import written_after
from models.engagement import Approval
from models.leave_requests import PendingLeave, decide, pending_leaves
from models.meeting import describe
from models.person import ROLE_NAMES

router = Router("leave_decisions")
APPROVE_WORDS = ("批准请假", "同意请假", "批准", "同意", "准假", "准了")
REFUSE_WORDS = ("不批准", "不同意", "不准假", "不准", "驳回")
ALL_WORDS = ("全部", "所有", "都批准", "都同意", "都")
NOTHING_WAITING = "您目前没有待审批的请假。"
# "3 张三 …", "第3号 …", "3号会议 …": a meeting's number first, then the rest.
_NUMBER = re.compile(r"^第?\s*(\d+)\s*号?(?:会议)?\s*(.*)$", re.S)
_NOTE_EDGE = " ,，。.:：;；、!！"


@dataclass(frozen=True, slots=True)
class Choice:
    leaves: list[PendingLeave]
    note: str
    ask: str | None = None  # set when it is not clear which leave is meant


def choose(pending: list[PendingLeave], args: str) -> Choice:
    """Which of the waiting leaves the secretary's words name, and the note after them."""
    rest = args.strip()
    candidates = pending
    if (number := _NUMBER.match(rest)) is not None:
        meeting_id = int(number.group(1))
        candidates = [p for p in pending if p.meeting.id == meeting_id]
        rest = number.group(2).strip()
        if not candidates:
            return Choice([], "", f"第 {meeting_id} 号会议没有待您审批的请假。")
    for word in ALL_WORDS:
        if rest.startswith(word):
            return Choice(candidates, rest[len(word):].strip(_NOTE_EDGE))
    named = sorted({p.member_name for p in candidates if p.member_name and rest.startswith(p.member_name)},
                   key=len, reverse=True)
    if named:
        candidates = [p for p in candidates if p.member_name == named[0]]
        rest = rest[len(named[0]):]
    if len(candidates) > 1:
        return Choice([], "", "有几位党员的请假待您审批，请说明是哪一位：")
    return Choice(candidates, rest.strip(_NOTE_EDGE))


def _line(pending: PendingLeave, ctx: Context) -> str:
    reason = pending.leave.note or "未说明理由"
    return f"{pending.member_name}（第 {pending.meeting.id} 号 {describe(pending.meeting, ctx.now.tzinfo)}）：{reason}"


def _listing(pending: list[PendingLeave], ctx: Context) -> str:
    example = pending[0].member_name
    names = [p.member_name for p in pending]
    by_number = len(set(names)) < len(names)  # two leaves of one name: the meeting's number tells them apart
    hint = f"“批准 {pending[0].meeting.id} {example}”" if by_number else f"“批准 {example}”"
    return ("\n".join(_line(p, ctx) for p in pending)
            + f"\n请回复{hint}、“不批准 {example} 说明”，或“批准 全部”。")


async def _decide(msg: Inbound, ctx: Context, approval: Approval) -> str:
    sender = ctx.sender
    words = APPROVE_WORDS if approval == Approval.approved else REFUSE_WORDS
    args = written_after(msg.content, words, msg.text).strip(_NOTE_EDGE)
    assert sender.person_id is not None  # secretary_command
    pending = await pending_leaves(session=ctx.session, approver_id=sender.person_id, now=ctx.now)
    if not pending:
        return NOTHING_WAITING
    choice = choose(pending, args)
    if choice.ask is not None:
        return f"{choice.ask}\n{_listing(pending, ctx)}"
    role = ROLE_NAMES[sender.roles[0].kind] if sender.roles else ""
    by_name = f"{role} {sender.name}".strip()
    reached: list[str] = []
    unreached: list[str] = []
    for leave in choice.leaves:
        rows = await decide(session=ctx.session, pending=leave, approval=approval, by=sender.person_id,
                            by_name=by_name, note=choice.note, actor=f"wechat:{msg.platform.value}:{msg.from_user}",
                            quiet=ctx.settings.quiet_window, now=ctx.now)
        (reached if rows else unreached).append(leave.member_name)
    await ctx.session.commit()
    word = "已批准" if approval == Approval.approved else "未批准"
    decided = "、".join(dict.fromkeys(p.member_name for p in choice.leaves))
    meetings = "、".join(dict.fromkeys(f"第 {p.meeting.id} 号" for p in choice.leaves))
    said = f"，说明：{choice.note}" if choice.note else ""
    lines = [f"{word}{decided}的请假（{meetings}会议）{said}。"]
    if reached:
        lines.append("已通知本人。" if not unreached else f"已通知{'、'.join(reached)}。")
    if unreached:
        lines.append(f"{'、'.join(unreached)}暂时无法通过微信接收，请另行告知。")
    answer = "".join(lines)
    decided_ids = {p.leave.id for p in choice.leaves}
    if left := [p for p in pending if p.leave.id not in decided_ids]:
        answer += "\n还有待您审批的请假：\n" + _listing(left, ctx)
    return answer


@router.message(secretary_command(*REFUSE_WORDS))
async def refuse(msg: Inbound, ctx: Context, args: str) -> str:
    return await _decide(msg, ctx, Approval.refused)


@router.message(secretary_command(*APPROVE_WORDS))
async def approve(msg: Inbound, ctx: Context, args: str) -> str:
    return await _decide(msg, ctx, Approval.approved)


def register_help(book: HelpBook) -> None:
    book.add("批准 / 不批准 说明 — 审批会议请假", "secretary")
