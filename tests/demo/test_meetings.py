"""The demo district has meetings to try: the branch secretary reads 考勤 of the 党课 starting within two
hours, answers it herself with 参加 and its number, and sees the count change."""

import re

import httpx

from bot.demo.stack import DemoStack
from tests.demo.helpers import persona_where, say


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
