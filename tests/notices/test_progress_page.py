"""The secretary's progress page (signed link at the end of `进度`) and the recipient's notice page
(signed link in a template message), driven through the real app and the WeChat emulator."""

import re
from datetime import UTC, datetime, timedelta

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlmodel import col, select

from bot.delivery.channels import NOT_A_MEMBER
from handlers.links import PROGRESS_MAX_AGE, PROGRESS_SALT, notice_url, progress_url
from handlers.progress import render
from models import Delivery, DeliveryStatus, Membership, Notice, Organisation, OrgLevel, Person, PersonKind, Role
from models.audit import AuditEntry
from models.delivery import UNKNOWN_REASON, Channel, Purpose
from models.engagement import Engagement, EngagementKind
from models.notice import NoticeStatus, Urgency
from models.organisation import child_path
from models.progress import notice_progress
from tests.notices.test_progress import TEXT, _send_urgent_notice, _settled
from tests.seed import Roster
from tests.stack import Stack

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _figure(html: str, label: str) -> int:
    """The number shown above a label in the totals card."""
    match = re.search(rf"<div><strong>(\d+)</strong>{label}</div>", html)
    assert match, f"no figure for {label}"
    return int(match.group(1))


def _org_card(html: str, name: str) -> str:
    start = html.index(f'<div class="card"><strong>{name}</strong>')
    end = html.find('<div class="card', start + 1)
    return html[start : end if end > 0 else len(html)]


def _bars(card: str) -> tuple[int, int]:
    """(delivered %, confirmed %) of an organisation's bar."""
    match = re.search(r'<i style="width:(\d+)%"></i><b style="width:(\d+)%"></b>', card)
    assert match
    return int(match.group(1)), int(match.group(2))


def _token(url: str, prefix: str) -> str:
    return url.rsplit(f"/{prefix}/", 1)[1]


async def test_a_secretary_follows_delivery_on_the_page_and_a_recipient_confirms_from_the_template_link(
    stack: Stack, roster: Roster
) -> None:
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    await stack.phone("work", "zhaody").send_text("你好")  # bound on WeCom...
    stack.emulator.register_user("work", "zhaody", following=False)  # ...then left the company
    # 李党员 is outside the 48 h window by WeChat's count: the customer-service message is refused.
    stack.emulator.force_error("custom/send", 45015)

    notice_id = await _send_urgent_notice(stack)
    await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    await _settled(stack, notice_id)

    wang = stack.phone("work", "wangshuji")
    lines = (await wang.send_text("进度")).content.split("\n")
    assert lines[1] == f"应发 3，已送达 2，发送中 0，未送达 1（{NOT_A_MEMBER}），已确认收到 0"
    assert lines[-1].startswith("详情：")
    link = lines[-1].removeprefix("详情：")
    assert link.startswith(f"{stack.settings.public_url}/p/")

    async with stack.http() as http:
        response = await http.get(link)
        assert response.status_code == 200
        html = response.text
        assert f"第 {notice_id} 号通知 · 进度" in html and TEXT in html and "紧急程度：紧急" in html
        assert '<meta http-equiv="refresh" content="30">' in html
        assert [_figure(html, label) for label in ("应发", "已送达", "发送中", "未送达", "结果未知", "已确认")] == [
            3, 2, 0, 1, 0, 0
        ]
        assert "已完成" not in html  # not a task
        branch = _org_card(html, "阳光社区第一党支部")
        assert _bars(branch) == (50, 0) and "送达 1/2" in branch and "未确认：李党员、赵党员" in branch
        community = _org_card(html, "阳光社区")
        assert _bars(community) == (100, 0) and "未确认：王书记" in community
        assert f"<tr><td>赵党员</td><td>阳光社区第一党支部</td><td>{NOT_A_MEMBER}</td></tr>" in html

        altered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        response = await http.get(altered)
        assert response.status_code == 403 and "链接无效或已过期" in response.text

        # A link signed for another community's secretary (a forwarded or crafted one) shows nothing.
        secret = stack.settings.secret_key.get_secret_value()
        for_he = progress_url(stack.settings.public_url, secret, notice_id, roster.people["he"].id)
        response = await http.get(for_he)
        assert response.status_code == 403 and "无权查看" in response.text and TEXT not in response.text

        # 李党员 opens the template message's link, reads the whole notice and presses 收到.
        [template] = stack.emulator.calls("template/send")
        # The dispatcher started before the test stack learnt its port: open the link's path on the stack.
        notice_link = httpx.URL(template.body["url"]).path
        page = await http.get(notice_link)
        assert page.status_code == 200
        assert TEXT in page.text and "阳光社区" in page.text and "紧急程度：紧急" in page.text
        assert "截止" not in page.text and "完成</button>" not in page.text
        token = _token(notice_link, "n")
        pressed = await http.post(f"{notice_link}/ack", data={"token": token})
        assert pressed.status_code == 303 and pressed.headers["location"] == f"/n/{token}"
        after = await http.get(notice_link)
        assert "已确认收到" in after.text and "收到</button>" not in after.text
        again = await http.post(f"{notice_link}/ack", data={"token": token})  # a second press changes nothing
        assert again.status_code == 303

        lines = (await wang.send_text("进度")).content.split("\n")
        assert lines[1] == f"应发 3，已送达 2，发送中 0，未送达 1（{NOT_A_MEMBER}），已确认收到 1"
        html = (await http.get(link)).text
        assert _figure(html, "已确认") == 1
        assert _bars(_org_card(html, "阳光社区第一党支部")) == (50, 50)

        async with stack.sessions() as s:
            [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.ack"))).all()
        assert entry.actor_person_id == roster.people["li"].id and entry.detail == {"notice_id": notice_id}

        # A secretary who no longer holds the post loses the page, even with a valid link.
        async with stack.sessions() as s:
            await s.exec(delete(Role).where(col(Role.person_id) == roster.people["wang"].id))  # type: ignore[call-overload]
            await s.commit()
        response = await http.get(link)
        assert response.status_code == 403 and "无权查看" in response.text


async def _task(stack: Stack, roster: Roster, text: str) -> int:
    """A task of 阳光社区 sent to 李党员 (one settled delivery row)."""
    async with stack.sessions() as s:
        notice = Notice(
            org_id=roster.orgs["C01"].id,  # type: ignore[arg-type]
            author_person_id=roster.people["wang"].id,  # type: ignore[arg-type]
            text=text,
            status=NoticeStatus.confirmed,
            confirmed_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            deadline=datetime(2026, 11, 30, 15, 59, tzinfo=UTC),
        )
        s.add(notice)
        await s.flush()
        s.add(Delivery(subject_id=notice.id, person_id=roster.people["li"].id, channel=Channel.mp_template,  # type: ignore[arg-type]
                       recipient="o_li", status=DeliveryStatus.sent))
        await s.commit()
        return notice.id  # type: ignore[return-value]


async def test_a_recipient_reads_a_task_and_reports_it_done_with_a_note(stack: Stack, roster: Roster) -> None:
    notice_id = await _task(stack, roster, "请各支部统计<流动党员>名单\n周五前报社区")
    secret = stack.settings.secret_key.get_secret_value()
    url = notice_url(stack.settings.public_url, secret, notice_id, roster.people["li"].id)
    token = _token(url, "n")
    async with stack.http() as http:
        page = (await http.get(url)).text
        # Escaped, line breaks kept; times in Beijing time.
        assert "请各支部统计&lt;流动党员&gt;名单\n周五前报社区" in page and "<流动党员>" not in page
        assert "时间：2026-11-23 09:00" in page and "截止：2026-11-30 23:59" in page
        assert "收到</button>" in page and "完成</button>" in page

        # Only a form post carrying the same token counts.
        assert (await http.post(f"{url}/done", json={"token": token})).status_code == 415
        assert (await http.post(f"{url}/done", data={"note": "x"})).status_code == 403
        other = notice_url(stack.settings.public_url, secret, notice_id, roster.people["zhao"].id)
        assert (await http.post(f"{url}/done", data={"token": _token(other, "n")})).status_code == 403

        done = await http.post(f"{url}/done", data={"token": token, "note": "已报 3 人"})
        assert done.status_code == 303
        page = (await http.get(url)).text
        assert "已记录完成" in page and "说明：已报 3 人" in page and "完成</button>" not in page
        assert "收到</button>" not in page and "已确认收到" in page  # 完成 implies 收到

    async with stack.sessions() as s:
        [reply] = (await s.exec(select(Engagement).where(Engagement.subject_id == notice_id))).all()
        [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.done"))).all()
    assert (reply.person_id, reply.kind, reply.note) == (roster.people["li"].id, EngagementKind.done, "已报 3 人")
    assert entry.detail == {"notice_id": notice_id, "note": "已报 3 人"}
    reply = (await stack.phone("work", "wangshuji").send_text(f"进度 {notice_id}")).content
    assert "\n应发 1，已送达 1，发送中 0，未送达 0，已确认收到 1，已完成 1\n" in reply  # 完成 implies 收到
    async with stack.http() as http:  # the issuer reads the note on the progress page and in the API
        progress = progress_url(stack.settings.public_url, secret, notice_id, roster.people["wang"].id)
        page = (await http.get(progress)).text
    assert "完成情况说明" in page and "已报 3 人" in page and "李党员" in page


async def test_forged_and_foreign_notice_links_are_refused(stack: Stack, roster: Roster) -> None:
    notice_id = await _task(stack, roster, "请各支部统计流动党员名单")
    secret = stack.settings.secret_key.get_secret_value()
    url = notice_url(stack.settings.public_url, secret, notice_id, roster.people["li"].id)
    async with stack.http() as http:
        forged = notice_url(stack.settings.public_url, "another-secret", notice_id, roster.people["li"].id)
        response = await http.get(forged)
        assert response.status_code == 403 and "请各支部" not in response.text
        assert (await http.post(f"{forged}/ack", data={"token": _token(forged, "n")})).status_code == 403
        # Signed, but 赵党员 was never sent this notice.
        not_sent = notice_url(stack.settings.public_url, secret, notice_id, roster.people["zhao"].id)
        response = await http.get(not_sent)
        assert response.status_code == 404 and "请各支部" not in response.text
        assert (await http.post(f"{not_sent}/ack", data={"token": _token(not_sent, "n")})).status_code == 404
        # A progress link is not a notice link, nor the other way round.
        as_progress = progress_url(stack.settings.public_url, secret, notice_id, roster.people["li"].id)
        assert (await http.get(url.replace("/n/", "/p/"))).status_code == 403
        assert (await http.get(as_progress.replace("/p/", "/n/"))).status_code == 403
    async with stack.sessions() as s:
        assert (await s.exec(select(Engagement))).all() == []


class _SignedLastMonth(TimestampSigner):
    def get_timestamp(self) -> int:
        return super().get_timestamp() - PROGRESS_MAX_AGE - 60


async def test_a_progress_link_expires_after_a_week(stack: Stack, roster: Roster) -> None:
    notice_id = await _task(stack, roster, "请各支部统计流动党员名单")
    secret = stack.settings.secret_key.get_secret_value()
    fresh = progress_url(stack.settings.public_url, secret, notice_id, roster.people["wang"].id)
    signed_earlier = URLSafeTimedSerializer(secret, salt=PROGRESS_SALT, signer=_SignedLastMonth)
    old = signed_earlier.dumps([notice_id, roster.people["wang"].id])
    async with stack.http() as http:
        page = await http.get(fresh)
        assert page.status_code == 200 and "截止：2026-11-30 23:59" in page.text and _figure(page.text, "已完成") == 0
        response = await http.get(f"/p/{old}")
        assert response.status_code == 403 and "请在微信中重新发送“进度”" in response.text


async def test_the_page_counts_thousands_of_recipients_per_organisation(stack: Stack, roster: Roster) -> None:
    """Only the notice's own rows count (reminders are extra messages to the same people); a person
    reached after a fallback counts once; every undelivered person shows their reason."""
    branches = 3
    per_branch = 1000
    expected: dict[str, dict[str, int]] = {}
    async with stack.sessions() as s:
        orgs = []
        for b in range(branches):
            org = Organisation(code=f"G{b}", name=f"第{b + 1}网格支部", level=OrgLevel.branch,
                               parent_id=roster.orgs["C02"].id, path=child_path(roster.orgs["C02"], f"G{b}"))
            s.add(org)
            orgs.append(org)
        await s.flush()
        people = [
            Person(name=f"党员{b}-{i}", kind=PersonKind.member) for b in range(branches) for i in range(per_branch)
        ]
        s.add_all(people)
        notice = Notice(org_id=roster.orgs["C02"].id, author_person_id=roster.people["he"].id, text="网格排查",  # type: ignore[arg-type]
                        status=NoticeStatus.confirmed, urgency=Urgency.urgent, confirmed_at=datetime.now(UTC),
                        deadline=datetime.now(UTC) + timedelta(days=3))
        s.add(notice)
        await s.flush()
        rows: list[object] = []
        for n, person in enumerate(people):
            org = orgs[n // per_branch]
            figures = expected.setdefault(org.name, dict.fromkeys(("people", "sent", "sending", "failed", "unknown",
                                                                    "acked", "done"), 0))
            figures["people"] += 1
            rows.append(Membership(person_id=person.id, org_id=org.id, is_primary=True))  # type: ignore[arg-type]
            row = {"subject_id": notice.id, "person_id": person.id, "recipient": f"u{n}"}
            kind = n % 10
            if kind == 0:  # WeCom refused, and no Official Account to fall back to
                rows.append(Delivery(**row, channel=Channel.work_app, status=DeliveryStatus.failed,  # type: ignore[arg-type]
                                     reason=NOT_A_MEMBER))
                figures["failed"] += 1
            elif kind == 1:
                rows.append(Delivery(**row, channel=Channel.mp_custom, status=DeliveryStatus.unknown,  # type: ignore[arg-type]
                                     reason=UNKNOWN_REASON))
                figures["unknown"] += 1
            elif kind == 2:
                rows.append(Delivery(**row, channel=Channel.work_app, status=DeliveryStatus.retry,  # type: ignore[arg-type]
                                     next_attempt_at=datetime.now(UTC) + timedelta(days=1)))  # not due in this test
                figures["sending"] += 1
            elif kind == 3:  # out of the 48 h window: fell back to a template, which arrived
                rows.append(Delivery(**row, channel=Channel.mp_custom, status=DeliveryStatus.fell_back, reason="窗口"))  # type: ignore[arg-type]
                rows.append(Delivery(**row, channel=Channel.mp_template, status=DeliveryStatus.sent))  # type: ignore[arg-type]
                figures["sent"] += 1
            else:
                rows.append(Delivery(**row, channel=Channel.work_app, status=DeliveryStatus.sent))  # type: ignore[arg-type]
                figures["sent"] += 1
                # A reminder that failed does not make a delivered notice undelivered.
                rows.append(Delivery(**row, channel=Channel.work_app, status=DeliveryStatus.failed,  # type: ignore[arg-type]
                                     purpose=Purpose.reminder, round=1, reason="提醒失败"))
            if n % 3 == 0:
                rows.append(Engagement(subject_id=notice.id, person_id=person.id, kind=EngagementKind.acked))  # type: ignore[arg-type]
            if n % 3 == 0 or n % 7 == 0:  # 完成 implies 收到
                figures["acked"] += 1
            if n % 7 == 0:
                rows.append(Engagement(subject_id=notice.id, person_id=person.id, kind=EngagementKind.done))  # type: ignore[arg-type]
                figures["done"] += 1
        s.add_all(rows)
        await s.commit()
        notice_id = notice.id

    async with stack.sessions() as s:
        progress = await notice_progress(s, await s.get(Notice, notice_id))  # type: ignore[arg-type]
    total = {key: sum(f[key] for f in expected.values()) for key in ("people", "sent", "sending", "failed",
                                                                      "unknown", "acked", "done")}
    assert (progress.total, progress.sent, progress.sending, progress.failed, progress.unknown, progress.acked,
            progress.done) == tuple(total.values())
    assert progress.failed_reason == NOT_A_MEMBER
    got = {o.name: {"people": o.people, "sent": o.sent, "sending": o.sending, "failed": o.failed,
                    "unknown": o.unknown, "acked": o.acked, "done": o.done} for o in progress.orgs}
    assert got == expected
    assert all(len(o.unacked) == o.people - o.acked and len(o.undone) == o.people - o.done for o in progress.orgs)
    assert len(progress.undelivered) == total["failed"] + total["unknown"]
    assert {(u.reason, u.unknown) for u in progress.undelivered} == {(NOT_A_MEMBER, False), (UNKNOWN_REASON, True)}
    assert f"结果未知 {total['unknown']}" in render(progress).split("\n")[1]

    link = progress_url(stack.settings.public_url, stack.settings.secret_key.get_secret_value(), notice_id,
                        roster.people["he"].id)
    async with stack.http() as http:
        html = (await http.get(link)).text
    assert _figure(html, "已完成") == total["done"] and _figure(html, "结果未知") == total["unknown"]
    first = _org_card(html, "第1网格支部")
    figures = expected["第1网格支部"]
    assert _bars(first) == (round(100 * figures["sent"] / per_branch), round(100 * figures["acked"] / per_branch))
    assert "未确认：" in first and "等 " in first  # long lists are cut, with the count
    assert html.count("<tr><td>党员") == total["failed"] + total["unknown"]
