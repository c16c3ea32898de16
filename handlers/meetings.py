"""A member answers a meeting: `参加` and `请假 <理由>`, forgiving (参加！· 我参加 · 请个假 家里有事 · 我请假，
出差 · 请假 3 出差), with the meeting's number when several are open (the bot lists them and asks which).
The answer says what it was counted as; 参加 replaces an earlier 请假 and the other way round."""

import re

from handlers.context import Context, Inbound
from handlers.links import attendance_page_url
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, flat, notice_number
from models.audit import record_audit
from models.engagement import Approval, EngagementKind, answer_instead, answer_of
from models.leave_requests import tell_approvers
from models.meeting import (
    AttendeeState,
    Meeting,
    attendance_of,
    describe,
    find_meeting,
    open_meetings_for,
)
from models.subject import Subject, SubjectKind
from models.typed import id_of

router = Router("meetings")
ONLY_MEMBERS = "会议回复只对已绑定的党员开放。请先回复“绑定 邀请码”。"
NONE_OPEN = "您近期没有需要回复的会议。"
# 参加 / 我参加 / 能参加 / 准时参加 / 参加！ / 参加 3; not 参加了吗 (a question goes to the help).
_ATTEND = re.compile(r"^(?:我|我会|我能|能|会|准时|按时|一定)?参加(?:会议)?\s*(?:第?\s*(\d+)\s*号?)?$")
# 请假 / 请个假 / 我请假 / 我要请假 / 想请假, then an optional number and the reason.
_LEAVE = re.compile(r"^(?:我|我要|我想|想|要)?请(?:个)?假\s*(?:第?\s*(\d+)\s*号(?:会议)?|(\d+)(?=\s|$))?\s*(.*)$",
                    re.S)
_REASON_EDGE = " ,，。.:：;；、!！"
NO_REASON_HINT = "如方便，可回复“请假 理由”补充说明。"


def _number(text: str | None) -> int | None:
    return int(text) if text else None


def attend_words(msg: Inbound, _ctx: Context) -> bool | dict[str, object]:
    if msg.msg_type != "text":
        return False
    match = _ATTEND.match(flat(msg.text))
    return {"number": _number(match.group(1))} if match else False


def leave_words(msg: Inbound, _ctx: Context) -> bool | dict[str, object]:
    if msg.msg_type != "text":
        return False
    match = _LEAVE.match(msg.text.strip())
    if not match:
        return False
    return {"number": _number(match.group(1) or match.group(2)), "reason": match.group(3).strip(_REASON_EDGE)}


def meeting_line(meeting: Meeting, ctx: Context) -> str:
    """第 3 号：12月15日（周二）19:30 主题党日，党群服务中心."""
    return f"第 {meeting.id} 号：{describe(meeting, ctx.now.tzinfo)}"


async def _answer(msg: Inbound, ctx: Context, kind: EngagementKind, number: int | None, reason: str) -> str:
    sender = ctx.sender
    if sender.person_id is None:
        return ONLY_MEMBERS
    open_now = await open_meetings_for(session=ctx.session, person_id=sender.person_id, now=ctx.now)
    word = "参加" if kind == EngagementKind.attending else "请假"
    if number is not None:
        chosen = [m for m in open_now if m.id == number]
        if not chosen:
            return f"没有找到您需要回复的第 {number} 号会议。" + _listing(open_now, ctx, word)
    elif len(open_now) > 1:
        return "您有几个会议需要回复，请说明是哪一个：\n" + "\n".join(meeting_line(m, ctx) for m in open_now) + (
            f"\n请回复“{word} 编号”" + ("，如“请假 编号 理由”。" if word == "请假" else "。"))
    else:
        chosen = open_now
    if not chosen:
        return NONE_OPEN
    meeting = chosen[0]
    subject = Subject(SubjectKind.meeting, id_of(meeting))
    line = meeting_line(meeting, ctx)
    if kind == EngagementKind.leave:
        earlier = await answer_of(ctx.session, subject, sender.person_id, EngagementKind.leave)
        if earlier is not None and earlier.approval == Approval.refused:
            said = f"（说明：{earlier.approval_note}）" if earlier.approval_note else ""
            return (f"您的请假未获批准{said}：{line}。如确有困难，请直接联系书记；能参加请回复“参加 {meeting.id}”。")
    answer = await answer_instead(ctx.session, subject, sender.person_id, kind, reason,
                                  instead_of=(EngagementKind.attending, EngagementKind.leave))
    record_audit(session=ctx.session, action=f"meeting.{kind.value}",
                 actor=f"wechat:{msg.platform.value}:{msg.from_user}", actor_person_id=sender.person_id,
                 org_id=meeting.org_id, meeting_id=meeting.id, reason=reason or None)
    told = 0
    if kind == EngagementKind.leave and answer.approval is None:
        told = await tell_approvers(session=ctx.session, meeting=meeting, leave=answer, member_name=sender.name,
                                    quiet=ctx.settings.quiet_window, now=ctx.now)
    await ctx.session.commit()
    if kind == EngagementKind.attending:
        return f"已记为参加：{line}。"
    given = f"，理由：{reason}" if reason else ""
    if answer.approval == Approval.approved:
        after = "书记已批准您的请假。"
    elif told:
        after = "已转给书记审批，结果会发给您。"
    else:
        after = "支部书记可在考勤中看到。"
    return f"已为您登记请假{given}：{line}。{after}" + ("" if reason else NO_REASON_HINT)


async def attend_as_asked(msg: Inbound, ctx: Context, meeting_id: int) -> str:
    """A bare 好的 / 1 / ok after a meeting reminder (the last question the bot asked): counted as
    参加 for that meeting, and the answer says so and how to take leave instead."""
    answer = await _answer(msg, ctx, EngagementKind.attending, meeting_id, "")
    if not answer.startswith("已记为参加"):
        return answer
    counted = f"（您回复的“{msg.text}”按“参加”登记；如需请假，请回复“请假 {meeting_id} 理由”。）"
    return answer + counted


def _listing(open_now: list[Meeting], ctx: Context, word: str) -> str:
    if not open_now:
        return NONE_OPEN
    return "\n您需要回复的会议：\n" + "\n".join(meeting_line(m, ctx) for m in open_now) + f"\n请回复“{word} 编号”。"


@router.message(attend_words)
async def attend(msg: Inbound, ctx: Context, number: int | None) -> str:
    return await _answer(msg, ctx, EngagementKind.attending, number, "")


@router.message(leave_words)
async def take_leave(msg: Inbound, ctx: Context, number: int | None, reason: str) -> str:
    return await _answer(msg, ctx, EngagementKind.leave, number, reason)


def register_help(book: HelpBook) -> None:
    book.add("参加 / 请假 理由 — 回复会议通知（有多个会议时加编号）", "member")
    book.add("考勤 [编号] — 会议的参加、请假、签到名单", "secretary")


ONLY_SECRETARIES = "“考勤”只对书记、副书记和管理员开放。"
MAX_NAMES = 10
STATE_WORDS = {"attending": "参加", "leave": "请假", "signed_in": "已签到", "no_reply": "未回复", "absent": "缺席"}


LEAVE_WORDS = {"pending": "待批准", "approved": "已批准", "refused": "请假未批准"}


def _named(person: AttendeeState, with_reason: bool) -> str:
    notes = [person.reason] if with_reason and person.reason else []
    if person.leave and (with_reason or person.leave == "refused"):
        notes.append(LEAVE_WORDS[person.leave])
    return f"{person.name}（{'，'.join(notes)}）" if notes else person.name


def _names(people: list[AttendeeState], with_reason: bool = False) -> str:
    shown = [_named(p, with_reason) for p in people[:MAX_NAMES]]
    more = f" 等 {len(people)} 人" if len(people) > MAX_NAMES else ""
    return "、".join(shown) + more


@router.command("考勤")
async def attendance(msg: Inbound, ctx: Context, args: str) -> str:
    """`考勤 [编号]`: the secretary's attendance list of a meeting in their scope (the nearest one
    without a number)."""
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    try:
        number = notice_number(args, "会议")
    except NotANumber:
        return "请回复“考勤”查看最近的会议，或“考勤 编号”查看指定会议。"
    found = await find_meeting(session=ctx.session, scope_paths=[g.org_path for g in sender.roles],
                               meeting_id=number, now=ctx.now)
    if found is None:
        return f"没有找到第 {number} 号会议，或不在您的管理范围内。" if number else "您的管理范围内还没有会议。"
    meeting, org = found
    state = await attendance_of(session=ctx.session, meeting=meeting, org=org, now=ctx.now)
    counts = state.counts
    lines = [f"{meeting_line(meeting, ctx)}（{org.name}）",
             f"应到 {counts['invited']}：" + "，".join(f"{STATE_WORDS[k]} {counts[k]}" for k in STATE_WORDS)]
    for key, with_reason in (("leave", True), ("no_reply", False), ("absent", False), ("attending", False),
                             ("signed_in", False)):
        people = [p for p in state.people if p.status == key]
        if people:
            lines.append(f"{STATE_WORDS[key]}：{_names(people, with_reason)}")
    link = attendance_page_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), id_of(meeting),
                               sender.person_id)
    lines.append(f"完整名单：{link}")
    return "\n".join(lines)
