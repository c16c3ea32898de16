"""签到 in the room: 李党员 replies the code the secretary's screen shows (or scans its QR code) and the
attendance shows him signed in; a code from home a few minutes old, a wrong code, a meeting days
away and a stale QR code each get a clear answer; 王书记 reads the code with 签到码 and signs in
赵党员, whose phone was flat, with 补签 and a reason that the audit keeps."""

from datetime import datetime, timedelta

import segno
from sqlmodel import select

from handlers.links import signin_page_url
from handlers.signin import HOW
from models import AuditEntry, Meeting, Organisation
from models.meeting import MeetingKind, attendance_of, create_meetings, plan_meetings
from models.meeting_signin import code_is_valid, current_code, period_of, signin_code, signin_scene
from models.workdays import WorkCalendar
from tests.seed import Roster
from tests.stack import Stack


async def _meeting(stack: Stack, roster: Roster, starts: datetime) -> int:
    async with stack.sessions() as s:
        branch = await s.get(Organisation, roster.orgs["B01"].id)
        assert branch is not None
        plan = await plan_meetings(session=s, kind=MeetingKind.party_day, org=branch, title="主题党日",
                                   starts_at=starts.replace(second=0, microsecond=0), minutes=90,
                                   place="党群服务中心", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def _status(stack: Stack, roster: Roster, meeting_id: int) -> dict[str, str]:
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
        org = await s.get(Organisation, roster.orgs["B01"].id)
        assert meeting is not None and org is not None
        attendance = await attendance_of(session=s, meeting=meeting, org=org, now=datetime.now(stack.settings.tz))
    return {p.name: p.status for p in attendance.people}


def _secret(stack: Stack) -> str:
    return stack.settings.secret_key.get_secret_value()


def _other_code(code: str) -> str:
    return str((int(code) + 5000) % 10000).zfill(4)


def test_the_code_changes_every_minute_and_one_a_minute_old_still_counts() -> None:
    now = datetime(2026, 12, 15, 19, 0, 30)
    period = period_of(now)
    codes = {signin_code("secret", 3, p) for p in range(period, period + 30)}
    assert len(codes) > 25 and all(len(c) == 4 and c.isdigit() for c in codes)
    minutes = range(period, period + 30)
    assert sum(signin_code("secret", 3, p) != signin_code("secret", 4, p) for p in minutes) > 25  # per meeting
    assert sum(signin_code("secret", 3, p) != signin_code("other", 3, p) for p in minutes) > 25  # per service
    assert code_is_valid("secret", 3, current_code("secret", 3, now), now)
    assert code_is_valid("secret", 3, current_code("secret", 3, now - timedelta(minutes=1)), now)
    assert not code_is_valid("secret", 3, current_code("secret", 3, now - timedelta(minutes=3)), now)
    assert code_is_valid("secret", 3, current_code("secret", 3, now - timedelta(minutes=2)), now, grace=2)


async def test_a_member_signs_in_with_the_code_on_the_screen(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    now = datetime.now(stack.settings.tz)
    meeting_id = await _meeting(stack, roster, now + timedelta(minutes=10))
    assert (await li.send_text("签到")).content == HOW
    code = current_code(_secret(stack), meeting_id, datetime.now(stack.settings.tz))
    assert (await li.send_text(f"签到 {_other_code(code)}")).content.startswith("签到码不对或已过期")  # type: ignore[union-attr]
    old = current_code(_secret(stack), meeting_id, datetime.now(stack.settings.tz) - timedelta(minutes=5))
    if old != code:  # a code read out at home five minutes ago
        assert (await li.send_text(f"签到 {old}")).content.startswith("签到码不对或已过期")  # type: ignore[union-attr]
    assert (await _status(stack, roster, meeting_id))["李党员"] == "no_reply"

    signed = (await li.send_text(f"到了 {code}")).content or ""
    assert signed.startswith("签到成功（") and f"第 {meeting_id} 号：" in signed
    assert (await li.send_text(f"签到{code}")).content.startswith("您已签过到")  # type: ignore[union-attr]
    assert (await _status(stack, roster, meeting_id))["李党员"] == "signed_in"
    async with stack.sessions() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.signed_in"))).all()
    assert len(audit) == 1 and audit[0].detail["how"] == "code"


async def test_sign_in_opens_half_an_hour_before_the_start(stack: Stack, roster: Roster) -> None:
    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    assert (await li.send_text("签到 1234")).content == "您现在没有可以签到的会议。"
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) + timedelta(days=2))
    answer = (await li.send_text("签到 1234")).content or ""
    assert answer.startswith("签到在会议开始前 30 分钟开放（") and f"第 {meeting_id} 号" in answer


async def test_scanning_the_sign_in_qr_code_signs_in_a_follower_and_a_new_follower(
    stack: Stack, roster: Roster
) -> None:
    li, wang = stack.phone("mp", "o_li"), stack.phone("mp", "o_wang")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) - timedelta(minutes=20))
    now = datetime.now(stack.settings.tz)
    stale = signin_scene(meeting_id, current_code(_secret(stack), meeting_id, now - timedelta(minutes=5)))
    fresh = signin_scene(meeting_id, current_code(_secret(stack), meeting_id, now))
    if stale != fresh:
        assert (await li.send_event("SCAN", stale)).content.startswith("这个签到二维码已过期")  # type: ignore[union-attr]
    assert (await li.send_event("SCAN", fresh)).content.startswith("签到成功")  # type: ignore[union-attr]
    # 王书记 is not invited to the branch's meeting (his primary organisation is the community above).
    await wang.send_text("绑定 WANG23")
    assert (await wang.send_event("SCAN", fresh)).content == "这个签到码不属于您需要参加的会议。"
    # A member who unfollowed and scans again follows and signs in with one scan.
    zhao = stack.phone("mp", "o_zhao_new")
    answer = (await zhao.send_event("subscribe", f"qrscene_{fresh}")).content or ""
    assert answer.startswith("欢迎关注") and "签到只对已绑定的党员开放" in answer
    assert (await _status(stack, roster, meeting_id))["李党员"] == "signed_in"


async def test_the_secretary_reads_the_code_and_signs_in_a_member_by_hand(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) - timedelta(minutes=5))
    before = current_code(_secret(stack), meeting_id, datetime.now(stack.settings.tz))
    shown = (await wang.send_text(f"签到码 {meeting_id}")).content or ""
    after = current_code(_secret(stack), meeting_id, datetime.now(stack.settings.tz))
    assert f"当前签到码：{before}" in shown or f"当前签到码：{after}" in shown  # the minute may turn meanwhile
    assert "/m/signin/" in shown

    assert (await wang.send_text("补签 赵党员")).content.startswith("请说明补签原因")  # type: ignore[union-attr]
    assert (await wang.send_text("补签 钱党员 没带手机")).content.startswith("请回复“补签 姓名 原因”")  # type: ignore[union-attr]
    done = (await wang.send_text("补签 赵党员，手机没电")).content or ""
    assert done.startswith("已为 赵党员 补签（原因：手机没电）")
    assert (await _status(stack, roster, meeting_id))["赵党员"] == "signed_in"
    assert (await wang.send_text("补签 赵党员 又没电")).content == "赵党员 已签到，无需补签。"
    async with stack.sessions() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "meeting.signed_in_by_hand"))).one()
    assert audit.actor_person_id == roster.people["wang"].id and audit.detail["reason"] == "手机没电"
    assert audit.detail["person_id"] == roster.people["zhao"].id

    li = stack.phone("mp", "o_li")
    await li.send_text("绑定 LI2345")
    assert (await li.send_text("补签 赵党员 手机没电")).content == "“签到码”和“补签”只对书记、副书记和管理员开放。"


def _link(text: str) -> str:
    return text[text.index("http"):].split()[0]


async def test_the_sign_in_page_shows_the_code_and_a_qr_code_that_signs_in_when_scanned(
    stack: Stack, roster: Roster
) -> None:
    wang, li = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) + timedelta(minutes=15))
    link = _link((await wang.send_text("签到码")).content or "")
    async with stack.http() as http:
        shown = await http.get(link.removeprefix(stack.base_url))
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    html = shown.text
    code = next(c for c in (current_code(_secret(stack), meeting_id, datetime.now(stack.settings.tz)
                                         - timedelta(minutes=back)) for back in (0, 1)) if f">{c}<" in html)
    assert "已签到 0 / 应到 2" in html and "微信扫一扫签到" in html and 'http-equiv="refresh"' in html
    # The QR code drawn is WeChat's code for the scene of this minute's code.
    [issued] = [q for q in stack.emulator.state.qr_codes.by_url.values() if q.scene == signin_scene(meeting_id, code)]
    assert segno.make(issued.url, error="m").svg_inline(scale=6, border=2) in html
    [call] = [c for c in stack.emulator.calls() if c.endpoint.endswith("qrcode/create")]
    assert call.body["expire_seconds"] == 120 and call.body["action_name"] == "QR_STR_SCENE"

    scanned = await li.scan(issued.url)
    assert scanned is not None and (scanned.content or "").startswith("签到成功")
    assert (await _status(stack, roster, meeting_id))["李党员"] == "signed_in"
    stack.emulator.state.clock.advance(121)  # WeChat's code has expired: the scan sends nothing
    assert await stack.phone("mp", "o_zhao").scan(issued.url) is None


async def test_the_sign_in_page_refuses_a_forged_link_and_another_communitys_secretary(
    stack: Stack, roster: Roster
) -> None:
    he = stack.phone("mp", "o_he")
    await he.send_text("绑定 HE2345")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) + timedelta(minutes=15))
    async with stack.http() as http:
        forged = await http.get("/m/signin/not-a-token")
        assert forged.status_code == 403 and "链接无效或已过期" in forged.text
        theirs = signin_page_url(stack.base_url, _secret(stack), meeting_id, roster.people["he"].id or 0)
        refused = await http.get(theirs.removeprefix(stack.base_url))
    assert refused.status_code == 403 and "不在您的管理范围内" in refused.text
