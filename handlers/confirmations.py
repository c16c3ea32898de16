"""`收到` / `完成`: a member acknowledges the latest notice that wants a receipt, or reports a task
done (with an optional note); `收到 12` / `完成 12 说明` name the notice. Forgiving: `好的`, `1`,
`ok`, `👌` count as 收到 too, but only when something awaits a receipt, otherwise they go on to the
routers after this one (a secretary's open 发通知 conversation comes earlier and keeps its answers).
A bare 收到 after a digest (several notices in one message) confirms every notice of it."""

import re
from functools import lru_cache
from typing import Any

from handlers.context import Context, Inbound
from handlers.meetings import attend_as_asked
from handlers.routing import Finish, HelpBook, Outcome, Router, pass_on
from models.audit import record_audit
from models.engagement import (
    EngagementKind,
    add_note,
    all_awaiting_receipt,
    answered_together,
    awaiting_done,
    latest_sent,
    receipt_row,
    record,
    sent_notice,
)
from models.notice import Notice
from models.row_writes import Written
from models.subject import Subject

router = Router("confirmations")
NOTHING = "目前没有需要您确认的通知。回复“帮助”查看可用指令。"
NO_TASK = "目前没有需要您报告完成的任务。回复“帮助”查看可用指令。"
# An answer the service cannot yet put to anyone: who writes it must be bound first.
UNBOUND_REPLY = ("您的微信还没有绑定党员身份，无法记录。请回复“绑定 邀请码”（邀请码向支部书记索取），"
                 "企业微信成员打开应用即自动绑定。绑定后再回复“收到”。")
# Casual answers: they mean 收到 only while a notice awaits a receipt.
LOOSE_ACK_WORDS = ("好的", "好", "1", "ok", "👌")
# 收到 as people write it: "收到", "收到了", "好的，收到", "已收到，马上办", "收到 12", "收到12号，谢谢".
# What follows 收到 must be set apart (space or punctuation): "收到的通知在哪看" is a question.
_ACK = re.compile(r"^(?:(?:好的|好嘞|好|嗯嗯|嗯|ok) ?)?(?:已?收到(?:了|啦)?|收)(?: ?(\d+)号?)?(?: (.+))?$", re.I)
_ACK_ALL = re.compile(r"^(?:全部收到|收到全部|都收到了?|全都收到了?|全部已收到)$")
# 完成 likewise ("好的，完成了", "已办完，共走访23户", "完成12 已上报"), but not "完成情况怎么样".
_DONE = re.compile(
    r"^(?:(?:好的|好|嗯|ok) ?)?已?(?:完成|办完|做完)(?:了|啦)?(?: ?(\d+)号?(?= |$))?(?: (.*))?$", re.I
)
_SEPARATORS = re.compile(r"[:：,，;；、。.!！?？~～]+")


@lru_cache(maxsize=4096)
def parse(text: str) -> dict[str, Any] | None:
    """{"kind", "notice_id", "note", "loose"} for a 收到 / 完成 reply, else None. Cached: three filters
    ask it of every text (so not to be changed by its callers), and a burst repeats a few dozen forms."""
    if text.lower() in LOOSE_ACK_WORDS:
        return {"kind": EngagementKind.acked, "notice_id": None, "note": "", "loose": True}
    flat = " ".join(_SEPARATORS.sub(" ", text).split())
    if _ACK_ALL.match(flat):
        return {"kind": EngagementKind.acked, "notice_id": None, "note": "", "loose": False, "every": True}
    if match := _ACK.match(flat):
        number, _chatter = match.groups()
        return {"kind": EngagementKind.acked, "notice_id": int(number) if number else None, "note": "", "loose": False}
    if match := _DONE.match(flat):
        number, note = match.groups()
        return {"kind": EngagementKind.done, "notice_id": int(number) if number else None, "note": (note or "").strip(),
                "loose": False}
    return None


def _is_bare(parsed: dict[str, Any]) -> bool:
    return parsed["kind"] == EngagementKind.acked and parsed["notice_id"] is None and "every" not in parsed


def confirmation(msg: Inbound, ctx: Context) -> bool | dict[str, Any]:
    """Bound senders only (the unbound go on to the help); a bare 收到 goes to `confirm_latest`."""
    if msg.msg_type != "text" or ctx.sender.person_id is None:
        return False
    parsed = parse(msg.text)
    return False if parsed is None or _is_bare(parsed) else parsed


def unbound_confirmation(msg: Inbound, ctx: Context) -> bool:
    """收到 / 完成 from someone the service does not know yet (a casual 好 is just a word then)."""
    if msg.msg_type != "text" or ctx.sender.person_id is not None:
        return False
    parsed = parse(msg.text)
    return parsed is not None and not parsed["loose"]


def bare_receipt(msg: Inbound, ctx: Context) -> bool | dict[str, Any]:
    """A bound sender's bare 收到 (or a casual 好 / 1): which notices it confirms is the latest's."""
    if msg.msg_type != "text" or ctx.sender.person_id is None:
        return False
    parsed = parse(msg.text)
    return {"loose": parsed["loose"]} if parsed is not None and _is_bare(parsed) else False


@router.message(unbound_confirmation, pure=True)
async def tell_how_to_bind(msg: Inbound, ctx: Context) -> str:
    return UNBOUND_REPLY


@router.message(bare_receipt, batched=True)
async def confirm_latest(msg: Inbound, ctx: Context, loose: bool) -> Outcome:
    """The bare 收到 that thousands send within minutes of a notice: which notices it confirms is read
    with everyone else's of that moment in one query, and the receipts with their audit entries are
    written in the same group commit as the message's log entry and the reply."""
    person_id = ctx.sender.person_id
    assert person_id is not None and ctx.hot is not None  # bare_receipt: bound; the callback path: batched
    awaited = await ctx.hot.awaiting(person_id)
    if loose and awaited.meeting is not None and awaited.meeting_asked_last:
        # The last thing the bot asked was a meeting reminder: a bare 好的 / 1 answers it (参加).
        await ctx.log_first()
        return await attend_as_asked(msg, ctx, awaited.meeting.meeting_id)
    together = answered_together(awaited.notices)
    if not together:
        if loose:
            return await _pass_on(msg, ctx)
        latest = await latest_sent(ctx.session, person_id)  # a repeated 收到 is told so
        return f"您已确认过第 {latest.id} 号通知。" if latest is not None else NOTHING
    actor = f"wechat:{msg.platform.value}:{msg.from_user}"
    how: dict[str, str] = {"together": "digest"} if len(together) > 1 else {}
    numbers = "、".join(str(a.notice_id) for a in together)

    def reply(written: list[Written]) -> str:
        acked = [a.notice_id for a, w in zip(together, written, strict=True) if w.done]
        if not acked:  # another reply of the person's was quicker
            return f"您已确认过第 {numbers} 号通知。"
        return f"已确认收到第 {'、'.join(str(n) for n in acked)} 号通知。"

    return Finish([receipt_row(notice=a, person_id=person_id, actor=actor, **how) for a in together], reply)


@router.message(confirmation)
async def confirm(msg: Inbound, ctx: Context, kind: EngagementKind, notice_id: int | None, note: str,
                  loose: bool, every: bool = False) -> str | None:
    """收到 with a number, 全部收到, and 完成 in all its forms."""
    person_id = ctx.sender.person_id
    assert person_id is not None  # confirmation() lets bound senders only through
    session = ctx.session
    if every:  # 全部收到: every notice still awaiting the member's 收到
        waiting = await all_awaiting_receipt(session, person_id)
        if not waiting:
            return NOTHING
        return await _ack_all(msg, ctx, waiting, how="all")
    is_done = kind == EngagementKind.done
    notice: Notice | None
    if notice_id is not None:
        notice = await sent_notice(session, notice_id, person_id)
        if notice is None:
            return f"没有找到发给您的第 {notice_id} 号通知。"
        if is_done and notice.deadline is None:
            return f"第 {notice_id} 号通知不是任务，回复“收到 {notice_id}”确认收到即可。"
    else:  # a bare 完成 (a bare 收到 went to confirm_latest)
        notice = await awaiting_done(session, person_id)
        if notice is None:  # a repeated 完成 is told so; otherwise there is nothing to answer
            notice = await latest_sent(session, person_id, tasks_only=True)
        if notice is None:
            return NO_TASK
    assert notice.id is not None
    if not await record(session, Subject.notice(notice.id), person_id, kind, note):
        if is_done and await add_note(session, Subject.notice(notice.id), person_id, note):
            record_audit(session=session, action="notice.done_note",
                         actor=f"wechat:{msg.platform.value}:{msg.from_user}", actor_person_id=person_id,
                         org_id=notice.org_id, notice_id=notice.id, note=note)
            await session.commit()
            return f"已补充第 {notice.id} 号任务的完成说明：{note}"
        return f"您已报告过第 {notice.id} 号任务完成。" if is_done else f"您已确认过第 {notice.id} 号通知。"
    detail: dict[str, Any] = {"note": note} if is_done and note else {}
    record_audit(session=session, action="notice.done" if is_done else "notice.ack",
                 actor=f"wechat:{msg.platform.value}:{msg.from_user}", actor_person_id=person_id,
                 org_id=notice.org_id, notice_id=notice.id, **detail)
    await session.commit()
    return f"已记录完成（第 {notice.id} 号任务），谢谢！" if is_done else f"已确认收到第 {notice.id} 号通知。"


async def _ack_all(msg: Inbound, ctx: Context, notices: list[Notice], *, how: str) -> str:
    """收到 for several notices (`how`: "all", 全部收到), each recorded and audited on its own (进度
    counts each); a digest's are confirmed by `confirm_latest`."""
    person_id = ctx.sender.person_id
    assert person_id is not None  # only confirm() calls it, for a bound sender
    acked = []
    for notice in notices:
        if await record(ctx.session, Subject.notice(notice.id), person_id, EngagementKind.acked):
            record_audit(session=ctx.session, action="notice.ack", actor=f"wechat:{msg.platform.value}:{msg.from_user}",
                         actor_person_id=person_id, org_id=notice.org_id, notice_id=notice.id, together=how)
            acked.append(notice.id)
    await ctx.session.commit()
    if not acked:  # another reply of the person's was quicker
        return f"您已确认过第 {'、'.join(str(n.id) for n in notices)} 号通知。"
    return f"已确认收到第 {'、'.join(str(n) for n in acked)} 号通知。"


async def _pass_on(msg: Inbound, ctx: Context) -> str | None:
    """A casual `好` / `1` with nothing to confirm: answered by the routers after this one."""
    return await pass_on(msg, ctx, default=NOTHING)


def register_help(book: HelpBook) -> None:
    book.add("收到 — 确认收到最新的通知（也可“收到 编号”“全部收到”）", "member", "resident", "unit_rep")
    # Tasks (任务) go to members and secretaries: residents and units only confirm what they receive.
    book.add("完成 说明 — 报告任务已完成（也可“完成 编号 说明”）", "member")
