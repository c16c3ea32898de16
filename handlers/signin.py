"""签到 at a meeting: by scanning the QR code on the secretary's phone (a SCAN or subscribe event with
the sign-in scene) or by replying the code shown beside it (`签到 4821`; forgiving: 到了 4821 · 签到4821
· 我到了). Without a code the member is told how to sign in. A secretary asks `签到码 [编号]` for the
code and the page that shows it, and signs a member in by hand with `补签 姓名 原因`."""

import re

from handlers.context import Context, Inbound
from handlers.links import signin_page_url
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, notice_number
from models.meeting import Meeting, attendance_of, describe, find_meeting, is_invited, open_meetings_for
from models.meeting_signin import (
    CODE_DIGITS,
    SCANNED_GRACE,
    code_is_valid,
    current_code,
    read_scene,
    sign_in,
    signin_open,
    signin_opens,
)
from models.organisation import Organisation
from models.typed import id_of

router = Router("signin")
ONLY_MEMBERS = "签到只对已绑定的党员开放。请先回复“绑定 邀请码”。"
HOW = f"请扫描会场的签到二维码，或回复会场显示的 {CODE_DIGITS} 位签到码，如“签到 1234”。"
WRONG_CODE = "签到码不对或已过期，请以会场屏幕上最新的签到码为准（每分钟更新）。"
# 签到 / 签到 4821 / 到了 4821 / 我到了 / 已到 / 签到码 is the secretary's (below), not this.
_SIGN_IN = re.compile(r"^(?:我要|我)?(?:签到|签个到|到了|已到|我到了|到)(?!码)\s*(?:[:：]?\s*(\d+))?$")


def sign_in_words(msg: Inbound, _ctx: Context) -> bool | dict[str, object]:
    if msg.msg_type != "text":
        return False
    match = _SIGN_IN.match(msg.text)
    return {"digits": match.group(1)} if match else False


def _local(meeting: Meeting, ctx: Context) -> str:
    return f"第 {meeting.id} 号：{describe(meeting, ctx.now.tzinfo)}"


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


async def _signed(msg: Inbound, ctx: Context, meeting: Meeting, how: str) -> str:
    assert ctx.sender.person_id is not None
    new = await sign_in(session=ctx.session, meeting=meeting, person_id=ctx.sender.person_id, actor=_actor(msg),
                        how=how)
    await ctx.session.commit()
    at = ctx.now.strftime("%H:%M")
    return f"签到成功（{at}）：{_local(meeting, ctx)}。" if new else f"您已签过到：{_local(meeting, ctx)}。"


@router.message(sign_in_words)
async def sign_in_by_code(msg: Inbound, ctx: Context, digits: str | None) -> str:
    if ctx.sender.person_id is None:
        return ONLY_MEMBERS
    meetings = await open_meetings_for(session=ctx.session, person_id=ctx.sender.person_id, now=ctx.now)
    now_open = [m for m in meetings if signin_open(m, ctx.now)]
    if not now_open:
        if meetings:
            soon = meetings[0]
            opens = signin_opens(soon).astimezone(ctx.now.tzinfo)
            return f"签到在会议开始前 30 分钟开放（{opens:%H:%M} 起）：{_local(soon, ctx)}。"
        return "您现在没有可以签到的会议。"
    if digits is None or len(digits) != CODE_DIGITS:
        return HOW
    secret = ctx.settings.secret_key.get_secret_value()
    matching = [m for m in now_open if code_is_valid(secret, id_of(m), digits, ctx.now)]
    if not matching:
        return WRONG_CODE
    return await _signed(msg, ctx, matching[0], "code")


async def sign_in_by_scan(msg: Inbound, ctx: Context, scene: str) -> str | None:
    """The reply to a scan of a sign-in QR code; None when the scene is not a sign-in (a community's)."""
    read = read_scene(scene)
    if read is None:
        return None
    meeting_id, code = read
    if ctx.sender.person_id is None:
        return ONLY_MEMBERS
    meeting = await ctx.session.get(Meeting, meeting_id)
    if meeting is None or not await is_invited(session=ctx.session, meeting=meeting, person_id=ctx.sender.person_id):
        return "这个签到码不属于您需要参加的会议。"
    if not signin_open(meeting, ctx.now):
        return f"现在不在签到时间内（会议开始前 30 分钟至开始后 60 分钟）：{_local(meeting, ctx)}。"
    secret = ctx.settings.secret_key.get_secret_value()
    if not code_is_valid(secret, meeting_id, code, ctx.now, grace=SCANNED_GRACE):
        return "这个签到二维码已过期，请扫描会场屏幕上最新的二维码。"
    return await _signed(msg, ctx, meeting, "scan")


ONLY_SECRETARIES = "“签到码”和“补签”只对书记、副书记和管理员开放。"


async def _secretary_meeting(ctx: Context, args: str) -> tuple[Meeting, Organisation, str] | str:
    """For `签到码` and `补签`: the meeting in the secretary's scope that the leading number names (the
    nearest one without), its organisation and the words after the number; or the answer when none."""
    if not ctx.sender.roles or ctx.sender.person_id is None:
        return ONLY_SECRETARIES
    number: int | None = None
    if (first := args.split(" ", 1)[0]) and first.removeprefix("第").removesuffix("号").isdigit():
        try:
            number = notice_number(first, "会议")
        except NotANumber:
            number = None
        args = args[len(first):].strip()
    found = await find_meeting(session=ctx.session, scope_paths=[g.org_path for g in ctx.sender.roles],
                               meeting_id=number, now=ctx.now)
    if found is None:
        return f"没有找到第 {number} 号会议，或不在您的管理范围内。" if number else "您的管理范围内还没有会议。"
    return found[0], found[1], args


@router.command("签到码")
async def code_for_secretary(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    found = await _secretary_meeting(ctx, args)
    if isinstance(found, str):
        return found
    meeting, _org, _rest = found
    assert sender.person_id is not None  # a secretary
    link = signin_page_url(ctx.settings.public_url, ctx.settings.secret_key.get_secret_value(), id_of(meeting),
                           sender.person_id)
    if not signin_open(meeting, ctx.now):
        opens = signin_opens(meeting).astimezone(ctx.now.tzinfo)
        return (f"{_local(meeting, ctx)}\n签到在会议开始前 30 分钟开放（{opens:%m月%d日 %H:%M} 起）。"
                f"届时打开签到页，请参会党员扫码或回复签到码：{link}")
    code = current_code(ctx.settings.secret_key.get_secret_value(), id_of(meeting), ctx.now)
    return (f"{_local(meeting, ctx)}\n当前签到码：{code}（每分钟更新）。请参会党员回复“签到 {code}”，"
            f"或打开签到页让大家扫码：{link}")


@router.command("补签")
async def sign_in_by_hand(msg: Inbound, ctx: Context, args: str) -> str:
    """`补签 [编号] 姓名 原因`: the secretary signs in a member who was there but could not sign in."""
    sender = ctx.sender
    found = await _secretary_meeting(ctx, args)
    if isinstance(found, str):
        return found
    meeting, org, rest = found
    if ctx.now < signin_opens(meeting):
        return f"会议还没开始签到，不能补签：{_local(meeting, ctx)}。"
    people = (await attendance_of(session=ctx.session, meeting=meeting, org=org, now=ctx.now)).people
    named = sorted((p for p in people if p.name and rest.startswith(p.name)), key=lambda p: len(p.name), reverse=True)
    if not named:
        return f"请回复“补签 姓名 原因”，姓名须是{_local(meeting, ctx)} 的参会人员。"
    person = named[0]
    reason = rest[len(person.name):].strip(" ,，。:：")
    if not reason:
        return f"请说明补签原因，如“补签 {person.name} 手机没电”。补签会记入审计记录。"
    if person.status == "signed_in":
        return f"{person.name} 已签到，无需补签。"
    await sign_in(session=ctx.session, meeting=meeting, person_id=person.person_id, actor=_actor(msg), how="补签",
                  by=sender.person_id, reason=reason)
    await ctx.session.commit()
    return f"已为 {person.name} 补签（原因：{reason}）：{_local(meeting, ctx)}。已记入审计记录。"


def register_help(book: HelpBook) -> None:
    book.add("签到 签到码 — 在会场签到（也可扫描会场的签到二维码）", "member")
    book.add("签到码 [编号] — 会场签到码；补签 姓名 原因", "secretary")
