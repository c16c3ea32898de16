"""A secretary records a meeting as held: `已召开 3 主持 王书记 记录 李党员 纪要 学习了新修订的党章…`
(host and recorder default to the secretary; the minutes are asked for when missing); those who
missed it get its material, and confirm with `已补课`. `台账 [年份]` links the yearly 三会一课台账."""

import re
from datetime import UTC

from sqlmodel import col, or_, select

from handlers.context import Context, Inbound
from handlers.links import ledger_url, record_page_url
from handlers.routing import HelpBook, Router
from handlers.text import written_after
from models.makeup import awaiting_makeup, confirm_makeup, queue_makeup
from models.meeting import Meeting, MeetingStatus, attendance_of, describe
from models.meeting_record import RECORD_WITHIN, RecordRefused, names, record_held
from models.organisation import Organisation, get_org_by_code
from models.typed import id_of

router = Router("meeting_records")
ONLY_SECRETARIES = "“已召开”和“台账”只对书记、副书记和管理员开放。"
_NUMBER = re.compile(r"^第?\s*(\d+)\s*号?(?:会议)?[\s,，:：]*")
# Labels of the record's parts, as secretaries write them; the minutes run to the end of the message.
_HOST = re.compile(r"(?:主持人|主持)[\s:：]*([^\s,，;；。]+)")
_RECORDER = re.compile(r"(?:记录人|记录员|记录)[\s:：]*([^\s,，;；。]+)")
_MINUTES = re.compile(r"(?:会议纪要|纪要|会议内容|内容|会议记录)[\s:：]*(.*)$", re.S)
_EDGE = " ,，;；。:：\n"
_MINUTES_EDGE = " ,，;；:：\n"  # a full stop at the end belongs to the minutes


def parse_record(text: str) -> tuple[int | None, str, str, str]:
    """(meeting number, host, recorder, minutes) of `已召开 …`'s rest; missing parts are empty."""
    number = None
    if (match := _NUMBER.match(text)) is not None:
        number = int(match.group(1))
        text = text[match.end():]
    minutes = ""
    if (found := _MINUTES.search(text)) is not None:
        minutes = found.group(1).strip(_MINUTES_EDGE)
        text = text[:found.start()]
    host = found_host.group(1) if (found_host := _HOST.search(text)) else ""
    recorder = found_rec.group(1) if (found_rec := _RECORDER.search(text)) else ""
    if not minutes and not host and not recorder:
        minutes = text.strip(_MINUTES_EDGE)  # `已召开 3 学习了……`: the rest is the minutes
    return number, host, recorder, minutes


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


def _line(meeting: Meeting, ctx: Context) -> str:
    return f"第 {meeting.id} 号：{describe(meeting, ctx.now.tzinfo)}"


async def _unrecorded(ctx: Context, number: int | None) -> list[tuple[Meeting, Organisation]]:
    """The secretary's meetings that have started and may be recorded (numbered one, if given)."""
    scopes = [g.org_path for g in ctx.sender.roles]
    query = (select(Meeting, Organisation).join(Organisation, col(Organisation.id) == Meeting.org_id)
             .where(or_(*(col(Organisation.path).startswith(p) for p in scopes))))
    if number is not None:
        return [(m, o) for m, o in (await ctx.session.exec(query.where(Meeting.id == number))).all()]
    rows = await ctx.session.exec(query.where(
        Meeting.status == MeetingStatus.scheduled.value, col(Meeting.starts_at) <= ctx.now.astimezone(UTC),
        col(Meeting.starts_at) > ctx.now.astimezone(UTC) - RECORD_WITHIN).order_by(col(Meeting.starts_at).desc()))
    return [(m, o) for m, o in rows.all()]


RECORD_WORDS = ("已召开", "已开会", "会议已召开")


@router.command(*RECORD_WORDS)
async def record_meeting(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    rest = written_after(msg.content, RECORD_WORDS, args)
    number, host, recorder, minutes = parse_record(rest.strip(_MINUTES_EDGE))
    found = await _unrecorded(ctx, number)
    if not found:
        return (f"没有找到第 {number} 号会议，或不在您的管理范围内。" if number is not None
                else f"您的管理范围内没有待记录的会议（{RECORD_WITHIN.days} 天内已开始的会议）。")
    if len(found) > 1:
        return ("有几个会议待记录，请说明是哪一个：\n" + "\n".join(_line(m, ctx) for m, _o in found[:5])
                + f"\n请回复“已召开 {found[0][0].id} 主持 姓名 记录 姓名 纪要 内容”。")
    meeting, org = found[0]
    if not minutes:
        return (f"{_line(meeting, ctx)}\n请附上会议纪要，如：“已召开 {meeting.id} 主持 {sender.name} "
                f"记录 {sender.name} 纪要 传达学习……，讨论……，决定……”。")
    attendance = await attendance_of(session=ctx.session, meeting=meeting, org=org, now=ctx.now)
    result = await record_held(session=ctx.session, meeting=meeting, attendance=attendance, host=host or sender.name,
                               recorder=recorder or sender.name, minutes=minutes, by=sender.person_id,
                               actor=_actor(msg), now=ctx.now)
    if isinstance(result, RecordRefused):
        await ctx.session.commit()  # the refusal's audit entry
        return f"{_line(meeting, ctx)}\n{result.reason}"
    sent = await queue_makeup(session=ctx.session, meeting=meeting, record_=result, org_name=org.name,
                              attendance=attendance, quiet=ctx.settings.quiet_window, now=ctx.now)
    await ctx.session.commit()
    absent = names(result.absent_names)
    lines = [f"已记录为已召开：{_line(meeting, ctx)}（{org.name}）",
             f"主持人 {result.host}，记录人 {result.recorder}。",
             f"应到 {result.invited}，实到 {result.present}，请假 {result.on_leave}，缺席 {result.absent}"
             + (f"（缺席：{'、'.join(absent[:10])}{' 等' if len(absent) > 10 else ''}）" if absent else "") + "。"]
    if sent:
        lines.append(f"已向未到会的 {sent} 人发送补课材料。")
    secret = ctx.settings.secret_key.get_secret_value()
    lines.append(f"会议记录：{record_page_url(ctx.settings.public_url, secret, id_of(meeting), sender.person_id)}")
    return "\n".join(lines)


_MAKEUP = re.compile(r"^(?:已补课|补课完成|已补学|补学完成|已经补课了?|补课了)\s*(?:第?\s*(\d+)\s*号?)?$")


def makeup_words(msg: Inbound, _ctx: Context) -> bool | dict[str, object]:
    if msg.msg_type != "text":
        return False
    match = _MAKEUP.match(msg.text)
    return {"number": int(match.group(1)) if match.group(1) else None} if match else False


@router.message(makeup_words)
async def made_up(msg: Inbound, ctx: Context, number: int | None) -> str:
    if ctx.sender.person_id is None:
        return "请先回复“绑定 邀请码”绑定党员身份。"
    waiting = await awaiting_makeup(session=ctx.session, person_id=ctx.sender.person_id, now=ctx.now)
    if number is not None:
        waiting = [m for m in waiting if m.id == number]
        if not waiting:
            return f"第 {number} 号会议没有需要您补课的材料。"
    if not waiting:
        return "您没有需要补课的会议。"
    if len(waiting) > 1:
        return ("您有几个会议需要补课，请说明是哪一个：\n" + "\n".join(_line(m, ctx) for m in waiting)
                + f"\n请回复“已补课 {waiting[0].id}”。")
    meeting = waiting[0]
    await confirm_makeup(session=ctx.session, meeting=meeting, person_id=ctx.sender.person_id, actor=_actor(msg))
    await ctx.session.commit()
    return f"已记录补课：{_line(meeting, ctx)}。谢谢！"


@router.command("台账")
async def ledger(msg: Inbound, ctx: Context, args: str) -> str:
    """`台账 [组织代码] [年份]`: the link to the yearly 台账 of the secretary's organisation (or of one
    in their scope, by its code)."""
    sender = ctx.sender
    if not sender.roles or sender.person_id is None:
        return ONLY_SECRETARIES
    year, org_id, org_name = ctx.now.year, sender.roles[0].org_id, sender.roles[0].org_name
    for word in args.split():
        digits = word.removesuffix("年")
        if digits.isdigit() and len(digits) == 4:
            year = int(digits)
            continue
        org = await get_org_by_code(session=ctx.session, code=word.upper())
        if org is None or not any(org.path.startswith(g.org_path) for g in sender.roles):
            return f"没有找到组织“{word[:20]}”，或不在您的管理范围内。请回复“台账”、“台账 2026”或“台账 组织代码 2026”。"
        org_id, org_name = id_of(org), org.name
    if not 2000 <= year <= 2100:
        return "请回复“台账”或“台账 2026”。"
    link = ledger_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), org_id, sender.person_id,
                      year)
    return f"{org_name} {year} 年三会一课台账（Excel）：{link}"


def register_help(book: HelpBook) -> None:
    book.add("已召开 编号 纪要 内容 — 记录会议已召开；台账 — 三会一课台账", "secretary")
    book.add("已补课 — 学习未参加会议的材料后确认", "member")
