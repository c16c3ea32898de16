"""留言: a resident's or a unit representative's message that is no command is passed on to their
community (or street) instead of being dropped; `留言 <内容>` leaves one on purpose (anyone bound).
The organisation's secretaries get it numbered, answer with `回复 <编号> <内容>`, and the answer reaches
the sender. `留言` alone shows a secretary the 留言 still unanswered in their scope."""

import re
from datetime import UTC

from handlers.confirm_step import secretary_command
from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from handlers.text import flat
from models.audience import load_recipients
from models.audit import record_audit
from models.inquiry import Inquiry, inquiry_in_scope, leave_inquiry, open_inquiries
from models.inquiry_messages import send_answer
from models.outbox import queue_messages
from models.person import PERSON_KIND_NAMES, PersonKind
from models.quiet_hours import not_before
from models.reminders import nearest_secretaries
from models.subject import Subject, SubjectKind

router = Router("inquiries")
PASSED_ON_KINDS = (PersonKind.resident, PersonKind.unit_rep)
_ANSWER = re.compile(r"^[#＃]?第?\s*(\d+)\s*号?\s*[:：,，]?\s*(.*)$", re.S)
ANSWER_HINT = "请回复“回复 编号 答复内容”，如“回复 3 路灯已报修，明天修好”。"
LIST_SIZE = 5


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


def _passed_on(msg: Inbound, ctx: Context) -> bool:
    """A resident's or unit representative's text that no command took."""
    sender = ctx.sender
    return (msg.msg_type == "text" and bool(msg.text) and sender.kind in PASSED_ON_KINDS
            and sender.person_id is not None and sender.primary_org_id is not None)


async def _leave(msg: Inbound, ctx: Context, text: str) -> str:
    sender = ctx.sender
    assert sender.person_id is not None and sender.primary_org_id is not None
    inquiry = await leave_inquiry(session=ctx.session, person_id=sender.person_id, org_id=sender.primary_org_id,
                                  text=text)
    assert inquiry.id is not None
    secretaries = (await nearest_secretaries(ctx.session, [sender.person_id])).get(sender.person_id, [])
    people = await load_recipients(session=ctx.session, person_ids=set(secretaries), now=ctx.now)
    who = PERSON_KIND_NAMES.get(sender.kind, "") if sender.kind else ""
    body = (f"【留言 第{inquiry.id}号】{who} {sender.name}（{sender.primary_org_name}）：\n{inquiry.text}\n"
            f"请回复“回复 {inquiry.id} 答复内容”答复对方。")
    start = not_before(ctx.now, ctx.settings.quiet_window, urgent=False)
    queued = await queue_messages(session=ctx.session, subject=Subject(SubjectKind.inquiry, inquiry.id),
                                  recipients=people.values(), not_before=start.astimezone(UTC), body=body)
    record_audit(session=ctx.session, action="inquiry.leave", actor=_actor(msg), actor_person_id=sender.person_id,
                 org_id=sender.primary_org_id, inquiry_id=inquiry.id, secretaries=queued.rows)
    await ctx.session.commit()
    place = sender.primary_org_name or "所在社区"
    if not queued.rows:
        return f"您的留言已记录（编号 {inquiry.id}），{place}暂未设置负责人，我们会尽快转给工作人员。"
    return (f"您的留言已转给{place}（编号 {inquiry.id}），工作人员一般会在 2 个工作日内答复，答复会发到这里。"
            "如有紧急情况请直接拨打社区电话。")


@router.command("留言")
async def leave_or_list(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not args:
        if sender.roles:
            return await _open_list(ctx)
        return "请回复“留言 您要反映的事情”，我们会转给社区，答复会发到这里。"
    if sender.person_id is None or sender.primary_org_id is None:
        return "请先绑定身份再留言：回复“绑定 邀请码”，邀请码向社区工作人员索取。"
    raw = msg.content.strip()
    return await _leave(msg, ctx, raw[len("留言"):].lstrip(" :：,，\u3000") if raw.startswith("留言") else args)


async def _open_list(ctx: Context) -> str:
    count, rows = await open_inquiries(session=ctx.session, scope_paths=[g.org_path for g in ctx.sender.roles],
                                       limit=LIST_SIZE)
    if not count:
        return "没有未答复的留言。"
    tz = ctx.now.tzinfo
    lines = [f"未答复的留言 {count} 条（请在 2 个工作日内答复，超时会上报上级组织）："]
    for inquiry, person, org in rows:
        when = inquiry.received_at.astimezone(tz)
        text = inquiry.text if len(inquiry.text) <= 30 else inquiry.text[:30] + "…"
        late = "【已超时上报】" if inquiry.escalated_at is not None else ""
        lines.append(f"{late}第 {inquiry.id} 号 · {person}（{org}，{when.month}月{when.day}日 {when:%H:%M}）：{text}")
    if count > len(rows):
        lines.append(f"……另有 {count - len(rows)} 条")
    lines.append(ANSWER_HINT)
    return "\n".join(lines)


@router.message(secretary_command("回复"))
async def answer(msg: Inbound, ctx: Context, args: str) -> str:
    raw = msg.content.strip()
    rest = raw[len("回复"):].lstrip(" :：,，\u3000") if raw.startswith("回复") else args
    match = _ANSWER.match(rest)
    if match is None:
        return ANSWER_HINT
    number, text = int(match.group(1)), match.group(2).strip()
    inquiry = await inquiry_in_scope(session=ctx.session, inquiry_id=number,
                                     scope_paths=[g.org_path for g in ctx.sender.roles])
    if inquiry is None:
        return f"没有找到第 {number} 号留言，或不在您的管理范围内。"
    if not text:
        return f"请写上答复内容：回复 {number} 答复内容"
    return await _send_answer(msg, ctx, inquiry, text)


async def _send_answer(msg: Inbound, ctx: Context, inquiry: Inquiry, text: str) -> str:
    assert ctx.sender.person_id is not None
    answered = await send_answer(session=ctx.session, inquiry=inquiry, text=text, by=ctx.sender.person_id,
                                 actor=_actor(msg), now=ctx.now)
    await ctx.session.commit()
    if not answered.rows:
        return f"已记录答复，但对方目前无法通过微信收到（第 {inquiry.id} 号留言），请电话联系。"
    return f"已答复第 {inquiry.id} 号留言，对方会在微信里收到。"


# Courtesies and bare emoji are answered, not forwarded: a secretary's 留言 list is for what needs a person.
COURTESIES = frozenset(("好", "好的", "嗯", "嗯嗯", "哦", "噢", "谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "ok",
                        "收到", "知道了", "明白", "明白了", "你好", "您好", "在吗", "hi", "hello", "再见", "拜拜"))
_WORDS = re.compile(r"[0-9a-z\u4e00-\u9fff]")
CHAT_REPLY = "您好！有事需要社区帮忙，直接写下来发给我，我会转给社区工作人员，答复也会发到这里。"


@router.message(_passed_on)
async def pass_on_to_community(msg: Inbound, ctx: Context) -> str:
    text = msg.content.strip() or msg.text
    bare = flat(text).strip("?？")
    if bare in COURTESIES or not _WORDS.search(bare):
        return CHAT_REPLY
    return await _leave(msg, ctx, text)


def register_help(book: HelpBook) -> None:
    book.add("直接发送您要反映的事情，或“留言 内容” — 转给社区，答复会发到这里", "resident", "unit_rep")
    book.add("留言 内容 — 给社区留言，答复会发到这里", "member")
    book.add("留言 — 查看未答复的留言；回复 编号 内容 — 答复留言", "secretary")
