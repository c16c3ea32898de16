"""The frame every message carries (models/message_frame.py): who sends it, what and which number,
the deadline, how to answer; short template keywords cut where a reader would cut them."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from models.message_frame import (
    Frame,
    answer_lines,
    cut_at_word,
    render_text,
    template_fields,
    when_words,
)
from models.person import RoleKind
from models.subject_texts import sender_words

SH = ZoneInfo("Asia/Shanghai")
FRIDAY_5PM = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 17:00 in Beijing


@pytest.mark.parametrize(("text", "limit", "cut"), [
    ("周五开会", 20, "周五开会"),
    ("请阳光社区全体党员于本周五前完成“灯塔在线”学习，并在群里报告", 20, "请阳光社区全体党员于本周五前完成…"),
    ("请各位党员注意：今晚有强降雨，做好防汛准备", 20, "请各位党员注意：今晚有强降雨…"),
    ("【任务提醒】第 2 号任务：请于周五前走访困难党员", 20, "【任务提醒】第 2 号任务…"),
    ("一" * 30, 20, "一" * 19 + "…"),
])
def test_a_long_title_is_cut_after_a_clause_mark_with_an_ellipsis(text: str, limit: int, cut: str) -> None:
    assert cut_at_word(text, limit) == cut and len(cut) <= limit


def test_the_sender_is_the_organisation_and_the_authors_role_and_name() -> None:
    assert sender_words("阳光社区", "王建国", RoleKind.secretary) == "阳光社区 · 书记 王建国"
    assert sender_words("阳光社区", "王书记", RoleKind.secretary) == "阳光社区 · 王书记"  # not 书记 王书记
    assert sender_words("朝阳街道", "李敏", None) == "朝阳街道 · 李敏"


def test_each_kind_of_message_says_how_to_answer() -> None:
    assert answer_lines(number=12, task=False, wants_receipt=True) == ("请回复“收到”确认。",)
    assert answer_lines(number=12, task=False, wants_receipt=False) == ()
    task = answer_lines(number=12, task=True, wants_receipt=True, can_pass_down=True)
    assert task == ("收到请回复“收到”；完成后回复“完成 说明”，如“完成 已组织学习”。", "回复“下发 12”转给下级组织。")


def test_a_task_arrives_with_its_sender_number_deadline_and_answers() -> None:
    frame = Frame("任务", 12, "朝阳街道 · 书记 王建国", "请走访辖区困难党员并报告情况", urgent=True,
                  deadline=FRIDAY_5PM, answers=answer_lines(number=12, task=True, wants_receipt=True))
    assert render_text(frame, tz=SH).splitlines() == [
        "【紧急任务 第12号】朝阳街道 · 书记 王建国",
        "请走访辖区困难党员并报告情况",
        "截止：12月4日（周五）17:00",
        "收到请回复“收到”；完成后回复“完成 说明”，如“完成 已组织学习”。",
    ]
    assert when_words(FRIDAY_5PM, SH) == "12月4日（周五）17:00"


def test_a_long_text_is_cut_for_the_phone_and_links_the_whole_notice() -> None:
    text = "关于开展冬季送温暖活动的通知。" + "请各支部摸清困难党员和群众底数，逐户走访。" * 20
    frame = Frame("通知", 3, "阳光社区 · 王书记", text, answers=("请回复“收到”确认。",))
    lines = render_text(frame, tz=SH, link="https://x.test/n/abc").splitlines()
    assert lines[1].endswith("…") and len(lines[1]) <= 300 and lines[2] == "全文：https://x.test/n/abc"
    assert lines[-1] == "请回复“收到”确认。"
    assert text in render_text(frame, tz=SH)  # no link (a message to many at once): the whole text


def test_template_keywords_hold_short_values_of_their_type() -> None:
    frame = Frame("通知", 7, "阳光社区 · 书记 王建国", "请阳光社区全体党员于本周五前完成“灯塔在线”学习\n详见附件",
                  answers=("请回复“收到”确认。",))
    fields = template_fields(frame, sent_at=datetime(2026, 12, 1, 1, 30, tzinfo=UTC), tz=SH)
    assert fields == {
        "thing1": "请阳光社区全体党员于本周五前完成…",
        "thing2": "阳光社区 · 书记 王建国",
        "time3": "2026年12月1日 09:30",
        "thing5": "点开详情查看，并回复“收到”",
    }
    task = Frame("任务", 8, "朝阳街道 · 王书记", "走访", deadline=FRIDAY_5PM)
    assert template_fields(task, sent_at=FRIDAY_5PM, tz=SH)["time4"] == "2026年12月4日 17:00"
    assert all(len(v) <= 20 for k, v in fields.items() if k.startswith("thing"))
