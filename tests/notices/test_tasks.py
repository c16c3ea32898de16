"""Tasks that cascade down the levels (四级联动): the district issues a task to its street, the street
secretary passes it down (下发) to the communities, each reports 完成, the district sees the roll-up;
the unfinished are reminded the working day before the deadline and escalated once it passed."""

import asyncio
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select, update

from bot.app import API
from bot.delivery.dispatcher import Dispatcher
from models import AuditEntry, Delivery, Membership, Notice, Organisation, OrgLevel, Person, PersonKind, Role, RoleKind
from models.api_token import issue_token
from models.delivery import CLAIMED, OPEN_STATUSES, Purpose
from models.directory import bump_directory_version
from models.organisation import child_path
from models.task_deadlines import Written, reminder_moment
from models.workdays import is_workday, previous_workday
from schedules.task_deadlines import check_task_deadlines
from tests.seed import Roster
from tests.stack import Phone, Stack

TASK = "请排查辖区内危旧房屋并报送台账"
EXTRA = "请各社区周五前报送"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def tree(stack: Stack, roster: Roster) -> Roster:
    """Secretaries for the district (张书记) and the street (刘书记) on WeCom, and a third community
    (新华社区) that has no secretary yet."""
    async with stack.sessions() as s:
        for key, name, code, userid in (("zhang", "张书记", "D01", "zhangshuji"), ("liu", "刘书记", "S01", "liushuji")):
            org = roster.orgs[code]
            person = Person(name=name, kind=PersonKind.member, work_userid=userid)
            s.add(person)
            await s.flush()
            s.add(Membership(person_id=person.id, org_id=org.id, is_primary=True))  # type: ignore[arg-type]
            s.add(Role(person_id=person.id, org_id=org.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
            roster.people[key] = person
        street = roster.orgs["S01"]
        c3 = Organisation(code="C03", name="新华社区", level=OrgLevel.community, parent_id=street.id,
                          path=child_path(street, "C03"))
        s.add(c3)
        await bump_directory_version(session=s)
        await s.commit()
        roster.orgs["C03"] = c3
    for userid in ("zhangshuji", "liushuji", "wangshuji"):  # opening the WeCom app links them to the roster
        await stack.phone("work", userid).send_text("你好")
    return roster


def _dispatcher(stack: Stack) -> Dispatcher:
    return Dispatcher(sessions=stack.sessions, api=stack.app[API], public_url=stack.settings.public_url,
                      secret=stack.settings.secret_key.get_secret_value(), rng=random.Random(7))


def _next_monday_after_a_weekend(today: date) -> date:
    """A Monday at least a week away whose Friday is a working day and whose weekend is not (so the
    reminder visibly skips the weekend)."""
    day = today + timedelta(days=7)
    while not (day.weekday() == 0 and is_workday(day - timedelta(days=3))
               and not is_workday(day - timedelta(days=1))
               and not is_workday(day - timedelta(days=2))):
        day += timedelta(days=1)
    return day


async def _issue(stack: Stack, deadline: str, *, text: str = TASK, reaches: int = 1) -> int:
    """张书记 sends an urgent task to 朝阳街道's secretary through the chat."""
    zhang = stack.phone("work", "zhangshuji")
    choices = (await zhang.send_text("发通知")).content
    street = next(line for line in choices.split("\n") if "朝阳街道" in line).split(".")[0]
    for answer in (street, "4", text, "2", "是", deadline):
        await zhang.send_text(answer)
    assert (await zhang.send_text("确认")).content.startswith(f"已确认，正在发送给 {reaches} 人")
    async with stack.sessions() as s:
        return (await s.exec(select(Notice).where(Notice.text == text))).one().id  # type: ignore[return-value]


async def _settled(stack: Stack, within: float = 5.0) -> None:
    unsettled = (*OPEN_STATUSES, *CLAIMED)
    now = datetime.now(UTC)
    for _ in range(int(within / 0.1)):
        async with stack.sessions() as s:
            query = select(func.count()).select_from(Delivery).where(
                col(Delivery.status).in_(unsettled), col(Delivery.next_attempt_at) <= now
            )
            if (await s.exec(query)).one() == 0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("deliveries not settled in time")


async def _bind_he(stack: Stack) -> Phone:
    he = stack.phone("mp", "o_he")
    assert "绑定成功" in (await he.send_text("绑定 HE2345")).content
    return he


async def _audits(stack: Stack, action: str) -> list[AuditEntry]:
    async with stack.sessions() as s:
        return list(await s.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


async def _rows(stack: Stack, purpose: Purpose) -> list[Delivery]:
    async with stack.sessions() as s:
        return list(await s.exec(select(Delivery).where(Delivery.purpose == purpose).order_by(Delivery.id)))


async def _pass_down_story(stack: Stack, roster: Roster, deadline: str) -> tuple[int, int]:
    """The district issues, the street passes down, 阳光社区 reports 完成; returns (task, child)."""
    wang = stack.phone("work", "wangshuji")
    await _bind_he(stack)
    task = await _issue(stack, deadline)
    [arrived] = await stack.emulator.wait_for_messages("work", "liushuji", within=5)
    assert TASK in arrived.content

    liu = stack.phone("work", "liushuji")
    preview = (await liu.send_text(f"下发 {task} {EXTRA}，并附照片")).content
    assert preview.splitlines() == [
        f"第 {task} 号任务将下发给 2 个社区（2 人）：",
        "1. 阳光社区（王书记）",
        "2. 和平社区（何书记）",
        "3. 新华社区（没有书记，无法下发）",
        f"补充说明：{EXTRA}，并附照片",
        "回复“确认”下发；只发给其中几个请回复编号，如“1 2”；回复“取消”放弃。",
    ]
    async with stack.sessions() as s:  # nothing is sent before 确认
        assert (await s.exec(select(Notice).where(Notice.parent_id == task))).first() is None
    reply = (await liu.send_text("确认")).content
    async with stack.sessions() as s:
        child = (await s.exec(select(Notice).where(Notice.parent_id == task))).one()
    assert reply == f"已下发给 2 个社区（2 人），编号 {child.id}。新华社区没有书记，无法下发。"
    assert child.text == f"{TASK}\n【朝阳街道补充】{EXTRA}，并附照片"
    assert child.deadline is not None and child.org_id == roster.orgs["S01"].id
    for platform, user in (("work", "wangshuji"), ("mp", "o_he")):
        [message] = await stack.emulator.wait_for_messages(platform, user, within=5)
        assert "【朝阳街道补充】请各社区周五前报送" in message.content
    assert (await wang.send_text("完成 已排查3处")).content == f"已记录完成（第 {child.id} 号任务），谢谢！"
    return task, child.id  # type: ignore[return-value]


async def test_a_task_cascades_down_and_the_district_sees_the_roll_up(stack: Stack, tree: Roster) -> None:
    task, child = await _pass_down_story(stack, tree, (date.today() + timedelta(days=10)).isoformat())

    async with stack.sessions() as s:
        rows = list(await s.exec(select(Delivery).where(Delivery.purpose == Purpose.notice)
                                 .order_by(Delivery.subject_id, Delivery.person_id)))
    addressed = {(r.subject_id, r.person_id, r.org_id) for r in rows}
    assert addressed == {
        (task, tree.people["liu"].id, tree.orgs["S01"].id),  # only the street, not its subtree
        (child, tree.people["wang"].id, tree.orgs["C01"].id),
        (child, tree.people["he"].id, tree.orgs["C02"].id),
    }
    await _settled(stack)

    zhang = stack.phone("work", "zhangshuji")
    lines = (await zhang.send_text(f"汇总 {task}")).content.split("\n")
    assert lines[0].startswith(f"第 {task} 号任务：{TASK[:20]}") and "17:30 截止" in lines[0]
    assert lines[1] == "街道 0/1 完成，送达 1，确认 1，已下发 1"  # passing it down counts as 收到
    assert lines[2] == "社区 1/2 完成，送达 2，确认 1"
    assert lines[3] == "未完成：朝阳街道（刘书记）、和平社区（何书记）"
    assert (await zhang.send_text("汇总")).content == "\n".join(lines)  # the newest task
    # 进度 without a number is the district secretary's own newest notice, not the street's newer child task.
    progress = (await zhang.send_text("进度")).content
    assert progress.startswith(f"第 {task} 号任务：")
    # Its page shows the same roll-up per level, with bars.
    link = progress.rsplit("详情：", 1)[1].strip()
    async with stack.http() as client:
        page = (await client.get(link.removeprefix(stack.base_url))).text
    assert "各级完成情况" in page
    assert "<strong>街道</strong>" in page and "完成 0/1 · 送达 1 · 确认 1 · 已下发 1" in page
    assert "<strong>社区</strong>" in page and "完成 1/2 · 送达 2 · 确认 1" in page
    assert "未完成：朝阳街道（刘书记）、和平社区（何书记）" in page
    # And the district's office system reads it through the JSON API.
    async with stack.sessions() as s:
        _, bearer = await issue_token(session=s, org_id=tree.orgs["D01"].id, person_id=tree.people["zhang"].id,  # type: ignore[arg-type]
                                      name="区委办公室 OA")
        await s.commit()
    async with stack.http(headers={"Authorization": f"Bearer {bearer}"}) as client:
        levels = (await client.get(f"/api/notices/{task}")).json()["levels"]
    assert [(lv["level"], lv["done"], lv["orgs"], lv["passed_down"]) for lv in levels] == [("街道", 0, 1, 1),
                                                                                           ("社区", 1, 2, 0)]

    liu = stack.phone("work", "liushuji")
    assert (await liu.send_text("汇总")).content.split("\n")[1:] == ["社区 1/2 完成，送达 2，确认 1",
                                                                     "未完成：和平社区（何书记）",
                                                                     "完成说明：阳光社区：已排查3处"]
    assert (await liu.send_text(f"下发 {task}")).content.startswith(f"第 {task} 号任务已经下发过了（编号 {child}）")
    [audit] = await _audits(stack, "task.pass_down")
    assert audit.detail["notice_id"] == child and audit.detail["parent_id"] == task
    assert audit.actor_person_id == tree.people["liu"].id

    wang = stack.phone("work", "wangshuji")
    assert (await wang.send_text(f"汇总 {task}")).content == f"没有找到第 {task} 号任务，或不在您的管理范围内。"
    help_text = (await liu.send_text("帮助")).content
    assert "下发 编号 补充说明" in help_text and "汇总 — " in help_text


async def test_only_a_secretary_who_received_a_task_may_pass_it_down(stack: Stack, tree: Roster) -> None:
    task = await _issue(stack, (date.today() + timedelta(days=10)).isoformat())
    li = stack.phone("mp", "o_li")
    assert "绑定成功" in (await li.send_text("绑定 LI2345")).content
    assert (await li.send_text(f"下发 {task}")).content == "只有收到任务的书记可以下发。"
    wang = stack.phone("work", "wangshuji")
    assert (await wang.send_text(f"下发 {task}")).content == (
        f"没有找到发给您的第 {task} 号任务，只能下发您收到的任务。"
    )
    assert (await wang.send_text("下发")).content == "您还没有收到需要下发的任务。"
    # a plain notice to 书记 reaches the secretaries of the whole subtree (刘书记, 王书记)
    notice = await _issue(stack, "无", text="周五下午召开街道党建联席会", reaches=2)
    liu = stack.phone("work", "liushuji")
    assert (await liu.send_text(f"下发 {notice}")).content == (
        f"第 {notice} 号是通知，不是任务（没有截止日期），无需下发。"
    )
    refused = await _audits(stack, "task.refused")
    assert [a.detail["reason"] for a in refused] == ["not_secretary", "not_received", "not_a_task"]
    assert [a.detail["notice_id"] for a in refused] == [task, task, notice]
    async with stack.sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Notice).where(col(Notice.parent_id).is_not(None)))
                ).one() == 0
    # 下发 without a number takes the latest task received
    assert "和平社区（何书记，未绑定微信）" in (await liu.send_text("下发")).content
    reply = (await liu.send_text("好的，发吧")).content
    async with stack.sessions() as s:
        child = (await s.exec(select(Notice).where(Notice.parent_id == task))).one()
    assert reply == (
        f"已下发给 1 个社区（1 人），编号 {child.id}。新华社区没有书记，无法下发。何书记未绑定微信，无法送达。"
    )
    # 阳光社区's branch has no secretary: nothing to pass down to, and nothing is created
    assert (await wang.send_text(f"下发 {child.id}")).content == (
        "无法下发：阳光社区第一党支部没有书记。请联系管理员补充书记信息。"
    )
    assert [a.detail["reason"] for a in await _audits(stack, "task.refused")][-1] == "no_secretaries"
    assert len(await _audits(stack, "task.pass_down")) == 1


def test_the_reminder_falls_on_the_working_day_before_the_deadline() -> None:
    assert previous_workday(date(2025, 12, 1)) == date(2025, 11, 28)  # Monday -> Friday
    assert previous_workday(date(2025, 10, 9)) == date(2025, 9, 30)  # after the National Day holiday
    assert previous_workday(date(2025, 10, 12)) == date(2025, 10, 11)  # a Saturday worked in exchange (调休)
    assert previous_workday(date(2025, 11, 26)) == date(2025, 11, 25)
    deadline = datetime(2025, 12, 1, 23, 59, tzinfo=TZ).astimezone(UTC)
    assert reminder_moment(deadline, TZ) == datetime(2025, 11, 28, 9, 0, tzinfo=TZ)


async def test_the_unfinished_are_reminded_the_working_day_before_and_escalated_after(
    stack: Stack, tree: Roster
) -> None:
    monday = _next_monday_after_a_weekend(date.today())
    task, child = await _pass_down_story(stack, tree, monday.isoformat())
    friday = monday - timedelta(days=3)
    run = {"tz": stack.settings.timezone, "quiet_window": stack.settings.quiet_window}

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=TZ)

    assert await check_task_deadlines(stack.sessions, **run, now=at(friday - timedelta(days=1), 18)) == Written(0, 0)
    assert await check_task_deadlines(stack.sessions, **run, now=at(friday, 8, 59)) == Written(0, 0)
    assert await check_task_deadlines(stack.sessions, **run, now=at(friday, 9)) == Written(2, 0)
    assert await check_task_deadlines(stack.sessions, **run, now=at(friday, 15)) == Written(0, 0)  # once only

    reminders = await _rows(stack, Purpose.deadline_reminder)
    when = f"{monday.month}月{monday.day}日 17:30"
    assert {(r.subject_id, r.person_id, r.org_id) for r in reminders} == {
        (task, tree.people["liu"].id, tree.orgs["S01"].id),
        (child, tree.people["he"].id, tree.orgs["C02"].id),  # 王书记 reported 完成: no reminder
    }
    he_row = next(r for r in reminders if r.subject_id == child)
    assert he_row.body == f"【任务提醒】第 {child} 号任务“{TASK}”将于 {when} 截止，完成后请回复“完成 {child}”。"
    assert he_row.next_attempt_at == at(friday, 9).astimezone(UTC)

    async with stack.sessions() as s:  # Friday has come
        await s.exec(update(Delivery).where(col(Delivery.purpose) == Purpose.deadline_reminder)  # type: ignore[call-overload]
                     .values(next_attempt_at=datetime.now(UTC)))
        await s.commit()
    await _dispatcher(stack).run_once()
    *_, reminded = await stack.emulator.wait_for_messages("mp", "o_he", count=2)  # the child task, then this
    # By Friday 何书记 has been silent for more than 48 h: a template message with a link to the text.
    assert reminded.api == "template" and f"【任务提醒】第 {child} 号任务" in reminded.content

    tuesday = at(monday + timedelta(days=1), 0, 1)
    assert await check_task_deadlines(stack.sessions, **run, now=tuesday) == Written(0, 2)
    assert await check_task_deadlines(stack.sessions, **run, now=tuesday + timedelta(hours=8)) == Written(0, 0)
    overdue = {r.person_id: r for r in await _rows(stack, Purpose.overdue)}
    assert set(overdue) == {tree.people["zhang"].id, tree.people["liu"].id}
    to_street = overdue[tree.people["liu"].id]  # the community that did not finish, to its street
    assert to_street.subject_id == child and "和平社区（何书记）" in to_street.body  # type: ignore[operator]
    assert "阳光社区" not in to_street.body  # type: ignore[operator]
    to_district = overdue[tree.people["zhang"].id]
    assert to_district.subject_id == task and "朝阳街道（刘书记）" in to_district.body  # type: ignore[operator]
    assert to_district.body.startswith(f"【任务逾期】第 {task} 号任务“{TASK}”已于 {when} 截止")  # type: ignore[union-attr]
    assert len(await _audits(stack, "task.overdue")) == 2
    assert len(await _audits(stack, "task.deadline_reminder")) == 2

    assert to_street.next_attempt_at == tuesday.astimezone(UTC)  # urgent: not held through the night

    async with stack.sessions() as s:  # Tuesday has come
        await s.exec(update(Delivery).where(col(Delivery.purpose) == Purpose.overdue)  # type: ignore[call-overload]
                     .values(next_attempt_at=datetime.now(UTC)))
        await s.commit()
    await _dispatcher(stack).run_once()
    *_, escalated = await stack.emulator.wait_for_messages("work", "liushuji", count=3)  # task, reminder, this
    assert escalated.content == to_street.body


async def test_a_task_says_who_gave_it_its_number_deadline_and_that_it_can_be_passed_down(
    stack: Stack, tree: Roster
) -> None:
    deadline = _next_monday_after_a_weekend(datetime.now(stack.settings.tz).date())
    number = await _issue(stack, f"{deadline.month}月{deadline.day}日")

    [received] = await stack.emulator.wait_for_messages("work", "liushuji", within=5)

    weekday = "一二三四五六日"[deadline.weekday()]
    assert received.content.splitlines() == [
        f"【紧急任务 第{number}号】示范区 · 张书记",
        TASK,
        f"截止：{deadline.month}月{deadline.day}日（周{weekday}）17:30",
        "收到请回复“收到”；完成后回复“完成 说明”，如“完成 已组织学习”。",
        f"回复“下发 {number}”转给下级组织。",
    ]
    # The number the member sees is the one the chat confirms.
    assert f"第 {number} 号" in ((await stack.phone("work", "liushuji").send_text("收到")).content or "")


async def test_a_secretary_passes_a_task_down_to_the_communities_only_or_to_the_ones_chosen(
    stack: Stack, tree: Roster
) -> None:
    async with stack.sessions() as s:  # the street also has an organ branch, which this task is not for
        street = tree.orgs["S01"]
        organ = Organisation(code="S01J", name="街道机关党支部", level=OrgLevel.branch, parent_id=street.id,
                             path=child_path(street, "S01J"))
        secretary = Person(name="赵支书", kind=PersonKind.member, work_userid="zhaozhishu")
        s.add_all([organ, secretary])
        await s.flush()
        s.add(Role(person_id=secretary.id, org_id=organ.id, kind=RoleKind.secretary))  # type: ignore[arg-type]
        await bump_directory_version(session=s)
        await s.commit()
    await stack.phone("work", "zhaozhishu").send_text("你好")
    task = await _issue(stack, (date.today() + timedelta(days=10)).isoformat())
    liu = stack.phone("work", "liushuji")

    everyone = (await liu.send_text(f"下发 {task}")).content
    assert "街道机关党支部（赵支书）" in everyone and everyone.startswith(f"第 {task} 号任务将下发给 2 个下级组织")
    only_communities = (await liu.send_text(f"下发 {task} 社区")).content  # a new 下发 replaces the preview
    assert only_communities.startswith(f"第 {task} 号任务将下发给 1 个社区（1 人）")
    assert "街道机关党支部（赵支书）（不发）" in only_communities and "补充说明" not in only_communities
    numbers = (await liu.send_text("1")).content  # by number: only 阳光社区
    assert "1. 阳光社区（王书记）\n" in numbers and "2. 和平社区（何书记，未绑定微信）（不发）" in numbers
    assert (await liu.send_text("嗯？")).content.startswith(f"请回复“确认”下发第 {task} 号任务")

    assert (await liu.send_text("确认")).content.startswith("已下发给 1 个社区（1 人）")
    async with stack.sessions() as s:
        child = (await s.exec(select(Notice).where(Notice.parent_id == task))).one()
    assert child.audience["org_ids"] == [tree.orgs["C01"].id]
    assert (await liu.send_text(f"下发 {task}")).content.startswith(f"第 {task} 号任务已经下发过了")


async def test_a_pass_down_preview_can_be_called_off(stack: Stack, tree: Roster) -> None:
    task = await _issue(stack, (date.today() + timedelta(days=10)).isoformat())
    liu = stack.phone("work", "liushuji")
    await liu.send_text(f"下发 {task}")
    assert (await liu.send_text("算了")).content == f"已取消，第 {task} 号任务没有下发。"
    async with stack.sessions() as s:
        assert (await s.exec(select(Notice).where(Notice.parent_id == task))).first() is None
