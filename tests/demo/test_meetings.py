"""The demo district has meetings to try: the branch secretary reads 考勤 of the 党课 starting within two
hours, answers it herself with 参加 and its number, and sees the count change."""

import re

import httpx

from bot.demo.stack import DemoStack
from tests.demo.helpers import persona_where, say, send


async def test_the_branch_secretary_reads_the_attendance_and_answers_the_coming_lecture(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    secretary = await persona_where(client, role="阳光社区第一党支部书记")
    shown = await say(client, secretary, "考勤")
    # The nearest meeting: the 党课, unless the demo starts on the 15th just before its 主题党日.
    assert ("书记讲党课" in shown or "主题党日" in shown) and "（阳光社区第一党支部）" in shown and "应到 " in shown
    number = re.search(r"第 (\d+) 号：", shown)
    assert number is not None
    answer = await say(client, secretary, f"参加 {number.group(1)}")
    assert answer.startswith(f"已记为参加：第 {number.group(1)} 号：")
    assert "参加 1，" in await say(client, secretary, f"考勤 {number.group(1)}")


async def test_a_member_signs_in_to_the_lecture_by_scanning_and_the_secretary_sees_it(
    client: httpx.AsyncClient, demo: DemoStack
) -> None:
    """The 党课 starts within half an hour, so its sign-in is open: 离退休党员 taps 扫会场签到码."""
    member = await persona_where(client, role="离退休党员")
    assert {"id": "signin", "label": "扫会场签到码"} in member["actions"]
    if not member["bound"]:
        await say(client, member, f"绑定 {member['invite_code']}")
    scanned = await send(client, member, action="signin")
    assert scanned.status_code == 200, scanned.text
    reply = scanned.json()["reply"]
    assert reply.startswith("签到成功") and "书记讲党课" in reply
    secretary = await persona_where(client, role="阳光社区第一党支部书记")
    number = re.search(r"第 (\d+) 号：", reply)
    assert number is not None
    assert "已签到 1" in await say(client, secretary, f"考勤 {number.group(1)}")
    code = await say(client, secretary, f"签到码 {number.group(1)}")
    assert "当前签到码：" in code and "/m/signin/" in code
    # A resident has no meetings: the button is not offered.
    resident = await persona_where(client, group="居民")
    assert all(a["id"] != "signin" for a in resident["actions"])


async def test_the_community_secretary_sees_last_months_gaps_with_hegui(client: httpx.AsyncClient) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last = today.replace(day=1) - timedelta(days=1)
    secretary = await persona_where(client, role="阳光社区书记")
    shown = await say(client, secretary, f"合规 {last.year}-{last.month:02d}")
    assert "\n阳光社区 " in "\n" + shown and "未达标 阳光社区第二党支部：支委会 0/1" in shown
    assert "未达标 阳光社区第一党支部第二党小组：党小组会 0/1" in shown
    assert "未达标 阳光社区第一党支部：" not in shown  # the first branch met both monthly ones
    assert "详情：http" in shown
