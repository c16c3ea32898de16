"""已召开: 王书记 records the branch's 主题党日 as held with host, recorder and minutes; 李党员 had signed
in, 赵党员 had not: he is counted absent, gets the material and answers 已补课; the record page and
the yearly 台账 show it. An early record and a back-dated one are refused, and the audit keeps both."""

import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from sqlmodel import select

from handlers.meeting_records import ONLY_SECRETARIES, parse_record
from models import AuditEntry, Meeting, Organisation
from models.meeting import MeetingKind, MeetingStatus, create_meetings, plan_meetings
from models.meeting_signin import current_code
from models.workdays import WorkCalendar
from tests.seed import Roster, api_token
from tests.stack import Stack

MINUTES = "传达学习新修订的党章，讨论了志愿服务安排，决定每月15日开展主题党日活动。"


async def _meeting(stack: Stack, roster: Roster, starts: datetime, org: str = "B01") -> int:
    async with stack.sessions() as s:
        where = await s.get(Organisation, roster.orgs[org].id)
        assert where is not None
        plan = await plan_meetings(session=s, kind=MeetingKind.party_day, org=where, title="主题党日",
                                   starts_at=starts.replace(second=0, microsecond=0), minutes=60,
                                   place="党群服务中心", topic="学习新党章", work_calendar=WorkCalendar())
        meeting = (await create_meetings(session=s, plan=plan, author_person_id=roster.people["wang"].id))[0]
        await s.commit()
        assert meeting.id is not None
        return meeting.id


async def _actions(stack: Stack, prefix: str) -> list[AuditEntry]:
    async with stack.sessions() as s:
        return list((await s.exec(select(AuditEntry).where(
            AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id))).all())  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "expected"), [
    ("3 主持 王书记 记录 李党员 纪要 学习了党章", (3, "王书记", "李党员", "学习了党章")),
    ("第3号 主持人：王书记，记录人：李党员。会议纪要：学习了党章，记录了发言。",
     (3, "王书记", "李党员", "学习了党章，记录了发言。")),
    ("纪要 学习了党章", (None, "", "", "学习了党章")),
    ("3 学习了党章", (3, "", "", "学习了党章")),
    ("3", (3, "", "", "")),
    ("", (None, "", "", "")),
])
def test_the_parts_of_a_record_as_secretaries_write_them(text: str, expected: tuple[object, ...]) -> None:
    assert parse_record(text) == expected


async def test_the_secretary_records_the_meeting_and_the_absent_member_makes_up_for_it(
    stack: Stack, roster: Roster
) -> None:
    stack.emulator.register_user("work", "zhaody")
    wang, li, zhao = stack.phone("mp", "o_wang"), stack.phone("mp", "o_li"), stack.phone("work", "zhaody")
    await wang.send_text("绑定 WANG23")
    await li.send_text("绑定 LI2345")
    await zhao.send_text("你好")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) - timedelta(minutes=30))
    code = current_code(stack.settings.secret_key.get_secret_value(), meeting_id, datetime.now(stack.settings.tz))
    assert ((await li.send_text(f"签到 {code}")).content or "").startswith("签到成功")

    asked = (await wang.send_text("已召开")).content or ""
    assert f"第 {meeting_id} 号：" in asked and "请附上会议纪要" in asked
    done = (await wang.send_text(f"已召开 主持 王书记 记录 李党员 纪要 {MINUTES}")).content or ""
    lines = done.split("\n")
    assert lines[0].startswith(f"已记录为已召开：第 {meeting_id} 号：") and lines[1] == "主持人 王书记，记录人 李党员。"
    assert lines[2] == "应到 2，实到 1，请假 0，缺席 1（缺席：赵党员）。"
    assert lines[3] == "已向未到会的 1 人发送补课材料。" and lines[4].startswith("会议记录：http")
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
    assert meeting is not None and meeting.status == MeetingStatus.held
    assert [a.action for a in await _actions(stack, "meeting.held")] == ["meeting.held"]

    material = await stack.emulator.wait_for_messages("work", "zhaody", within=5)
    text = next(m.content for m in material if "【补课" in m.content)
    assert text.startswith(f"【补课 · 第{meeting_id}号会议】阳光社区第一党支部") and "议题：学习新党章" in text
    assert f"会议纪要：{MINUTES}" in text
    assert text.endswith(f"请学习后回复“已补课”（有多个时加编号，如“已补课 {meeting_id}”）。")
    assert ((await zhao.send_text("已补课")).content or "").startswith(f"已记录补课：第 {meeting_id} 号：")
    assert (await zhao.send_text("已补课")).content == "您没有需要补课的会议。"
    assert (await li.send_text("已补课")).content == "您没有需要补课的会议。"

    link = lines[4].removeprefix("会议记录：")
    async with stack.http() as http:
        page = (await http.get(link.removeprefix(stack.base_url))).text
    assert "会议记录" in page and "<td>主持人</td><td>王书记</td>" in page and MINUTES in page
    assert "<td>缺席人员</td><td>赵党员</td>" in page and "<td>已补课</td><td>赵党员</td>" in page

    again = (await wang.send_text(f"已召开 {meeting_id} 纪要 再记一次")).content or ""
    assert again.endswith(f"第 {meeting_id} 号会议已记录为已召开。")


async def test_early_and_back_dated_records_are_refused_and_audited(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    now = datetime.now(stack.settings.tz)
    future = await _meeting(stack, roster, now + timedelta(days=2))
    past = await _meeting(stack, roster, now - timedelta(days=40))
    early = (await wang.send_text(f"已召开 {future} 纪要 提前写好")).content or ""
    assert early.endswith("会议还没开始，不能提前记录为已召开。")
    late = (await wang.send_text(f"已召开 {past} 纪要 补一个")).content or ""
    assert late.endswith("会议已结束超过 30 天，不能补记为已召开；如确需补录，请联系上级党组织。")
    refusals = await _actions(stack, "meeting.record_refused")
    assert [a.detail["meeting_id"] for a in refusals] == [future, past]
    nothing = (await wang.send_text("已召开 纪要 没有会议")).content
    assert nothing == "您的管理范围内没有待记录的会议（30 天内已开始的会议）。"
    assert (await stack.phone("mp", "o_li").send_text("已召开")).content == ONLY_SECRETARIES


async def test_the_yearly_ledger_lists_the_held_meetings(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    now = datetime.now(stack.settings.tz)
    meeting_id = await _meeting(stack, roster, now - timedelta(minutes=90))
    await wang.send_text(f"已召开 {meeting_id} 主持 王书记 记录 李党员 纪要 {MINUTES}")
    await _meeting(stack, roster, now + timedelta(days=1))  # not held: not in the ledger

    reply = (await wang.send_text(f"台账 b01 {now.year}")).content or ""
    assert reply.startswith(f"阳光社区第一党支部 {now.year} 年三会一课台账（Excel）：http")
    async with stack.http() as http:
        got = await http.get(reply.split("：", 1)[1].removeprefix(stack.base_url))
        token = await api_token(stack.sessions, roster)
        by_api = await http.get("/api/meetings/ledger.xlsx", params={"org": "B01", "year": str(now.year)},
                                headers={"Authorization": f"Bearer {token}"})
        other = await http.get("/api/meetings/ledger.xlsx", params={"org": "C02"},
                               headers={"Authorization": f"Bearer {token}"})
        bad_year = await http.get("/api/meetings/ledger.xlsx", params={"year": "26"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert by_api.status_code == 200 and other.status_code == 403 and bad_year.status_code == 400
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == f"阳光社区第一党支部 {now.year} 年三会一课台账" and rows[1][:3] == ("序号", "日期", "时间")
    assert len(rows) == 3
    held = rows[2]
    assert held[3] == "主题党日" and held[7:13] == ("王书记", "李党员", 2, 0, 0, 2)
    assert held[14] == "李党员、赵党员" and held[15] == 0
    assert (await wang.send_text("台账 C02")).content.startswith("没有找到组织“C02”")  # type: ignore[union-attr]


async def test_the_secretary_records_the_meeting_on_the_attendance_page(stack: Stack, roster: Roster) -> None:
    wang = stack.phone("mp", "o_wang")
    await wang.send_text("绑定 WANG23")
    meeting_id = await _meeting(stack, roster, datetime.now(stack.settings.tz) - timedelta(minutes=30))
    link = ((await wang.send_text(f"考勤 {meeting_id}")).content or "").split("完整名单：")[1].strip()
    path = link.removeprefix(stack.base_url)
    async with stack.http() as http:
        shown = await http.get(path)
        assert "记录为已召开" in shown.text and 'http-equiv="refresh"' not in shown.text
        empty = await http.post(path + "/held", data={"host": "王书记", "recorder": "", "minutes": ""})
        done = await http.post(path + "/held", data={"host": "王书记", "recorder": "李党员", "minutes": MINUTES})
        again = await http.post(path + "/held", data={"host": "王书记", "recorder": "李党员", "minutes": MINUTES})
        record = await http.get(done.headers["location"].removeprefix(stack.base_url))
    assert empty.status_code == 400 and "请填写主持人、记录人和会议纪要" in empty.text
    assert done.status_code == 303 and "/m/record/" in done.headers["location"]
    assert again.status_code == 409 and "已记录为已召开" in again.text
    assert record.status_code == 200 and MINUTES in record.text and "<td>记录人</td><td>李党员</td>" in record.text
    async with stack.sessions() as s:
        meeting = await s.get(Meeting, meeting_id)
    assert meeting is not None and meeting.status == MeetingStatus.held
