"""A secretary sends 后台 and gets a one-time link to phone pages that show only their own subtree."""

import re
from datetime import timedelta

from sqlmodel import select

from models import LoginToken
from tests.seed import Roster
from tests.stack import Stack


async def _link(stack: Stack, user: str = "wangshuji") -> str:
    reply = await stack.phone("work", user).send_text("后台")
    match = re.search(r"(http://\S+/admin/login\?t=\S+)", reply.content)
    assert match, reply.content
    return match.group(1)


async def test_a_community_secretary_sees_the_community_and_not_the_neighbour(stack: Stack, roster: Roster) -> None:
    link = await _link(stack)
    assert "10分钟内有效" in (await stack.phone("work", "wangshuji").send_text("后台")).content
    async with stack.http(follow_redirects=True) as browser:
        overview = await browser.get(link.removeprefix(stack.base_url))
        assert overview.status_code == 200
        assert "阳光社区" in overview.text and "阳光社区第一党支部" in overview.text
        assert "和平社区" not in overview.text and "朝阳街道" not in overview.text

        branch = await browser.get("/admin/org/B01")
        assert branch.status_code == 200 and "李党员" in branch.text

        neighbour = await browser.get("/admin/org/C02")
        assert neighbour.status_code == 403 and "何书记" not in neighbour.text
        parent = await browser.get("/admin/org/S01")
        assert parent.status_code == 403


async def test_a_link_works_once(stack: Stack, roster: Roster) -> None:
    link = (await _link(stack)).removeprefix(stack.base_url)
    async with stack.http() as first, stack.http() as second:
        assert (await first.get(link)).status_code == 303
        reused = await second.get(link)
        assert reused.status_code == 403 and "重新发送“后台”" in reused.text


async def test_an_expired_link_is_refused(stack: Stack, roster: Roster) -> None:
    link = (await _link(stack)).removeprefix(stack.base_url)
    async with stack.sessions() as s:
        token = (await s.exec(select(LoginToken))).one()
        token.expires_at = token.expires_at - timedelta(minutes=11)
        s.add(token)
        await s.commit()
    async with stack.http() as browser:
        assert (await browser.get(link)).status_code == 403


async def test_pages_without_a_session_ask_to_log_in(stack: Stack, roster: Roster) -> None:
    async with stack.http() as browser:
        response = await browser.get("/admin/")
        assert response.status_code == 401 and "后台" in response.text
    async with stack.http(cookies={"gr_session": "forged"}) as forger:
        assert (await forger.get("/admin/")).status_code == 401


async def test_members_and_strangers_get_no_link(stack: Stack, roster: Roster) -> None:
    reply = await stack.phone("work", "zhaody").send_text("后台")
    assert "只对书记" in reply.content and "http" not in reply.content


async def test_the_overview_counts_each_subtree_and_a_second_tap_on_the_link_opens_the_pages(
    stack: Stack, roster: Roster
) -> None:
    link = (await _link(stack)).removeprefix(stack.base_url)
    async with stack.http(follow_redirects=True) as browser:
        overview = (await browser.get(link)).text
        # 阳光社区 holds 王书记 and, in its branch, 李党员 and 赵党员: counted with the community.
        community = overview.split("阳光社区</a>")[1].split("</div>")[0]
        assert "含下级：党员 3 · 居民 0 · 微信可达 2（67%）" in community  # 王书记 and 赵党员 by WeCom

        again = await browser.get(link)  # the same link tapped again while the session is good
        assert again.status_code == 200 and "阳光社区" in again.text

        branch = (await browser.get("/admin/org/B01")).text
    assert "赵党员" in branch and "企业微信" in branch  # reached by the roster's WeCom account
    assert branch.split("李党员")[1].split("</tr>")[0].count("未绑定") == 1


async def test_the_secretary_lists_the_notices_of_the_subtree_with_their_progress(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("work", "wangshuji")
    for answer in ("通知：周六上午九点开支部党员大会", "1", "好", "2", "是", "无"):
        await wang.send_text(answer)
    assert "已确认" in (await wang.send_text("确认")).content
    link = (await _link(stack)).removeprefix(stack.base_url)

    async with stack.http(follow_redirects=True) as browser:
        await browser.get(link)
        listing = await browser.get("/admin/notices")
        assert listing.status_code == 200
        assert "第 1 号通知：周六上午九点开支部党员大会" in listing.text and "阳光社区" in listing.text
        assert "应发 2 · 已送达" in listing.text  # 王书记 and 赵党员 by WeCom; 李党员 is not bound
        progress = listing.text.split('<a href="')[2].split('"')[0]  # after the 返回总览 link
        assert "/p/" in progress
        page = await browser.get(progress.removeprefix(stack.base_url))
    assert page.status_code == 200 and "第 1 号通知 · 进度" in page.text


async def test_a_neighbours_notices_are_not_listed(stack: Stack, roster: Roster) -> None:
    he = stack.phone("mp", "o_he")
    assert "绑定成功" in (await he.send_text("绑定 HE2345")).content
    for answer in ("通知：和平社区明天停水", "1", "好", "1", "是", "无"):
        await he.send_text(answer)
    assert "已确认" in (await he.send_text("确认")).content
    link = (await _link(stack)).removeprefix(stack.base_url)  # 王书记 of 阳光社区

    async with stack.http(follow_redirects=True) as browser:
        await browser.get(link)
        listing = (await browser.get("/admin/notices")).text
    assert "和平社区明天停水" not in listing and "还没有通知" in listing
