"""The frame every message a person receives carries, the same for every kind (a notice, a task; next
meeting reminders and rating invitations): who sends it, what it is and its number, urgency and
deadline when there are any, the text, and one line saying exactly how to answer. Pure functions:
the dispatcher renders a row's frame for the channel it goes on.

    【紧急通知 第12号】阳光社区 · 书记 王建国
    今晚有强降雨，请各位党员留意社区群消息。
    截止：12月4日（周五）17:00
    请回复“收到”确认。

A template message holds short keyword fields instead (`template_fields`): the title (`thing`, at
most 20 characters, cut at a word boundary with “…”), the sender, the times (`time`) and how to
answer; its link opens the whole notice."""

from dataclasses import dataclass
from datetime import datetime, tzinfo

THING_MAX = 20  # a template `thing` keyword: at most 20 characters (WECHAT.md)
PHONE_CHARS = 300  # about a phone screen and a half of Chinese text; longer texts are cut and linked
ELLIPSIS = "…"
WEEKDAYS = "一二三四五六日"
# Where a cut may fall: after a sentence or clause mark (a space is no boundary in Chinese: "第 2 号").
BREAKS = "。！？；，、：）》」』”\n"
OPENINGS = "“《「『（"


@dataclass(frozen=True, slots=True)
class Frame:
    kind: str  # 通知, 任务 (会议, 评价 next)
    number: int
    sender: str  # the organisation, and the author's role and name: "阳光社区 · 书记 王建国"
    text: str
    urgent: bool = False
    deadline: datetime | None = None  # aware
    answers: tuple[str, ...] = ()  # how to answer, one short sentence each

    @property
    def title(self) -> str:
        return f"{'紧急' if self.urgent else ''}{self.kind} 第{self.number}号"


def answer_lines(*, number: int, task: bool, wants_receipt: bool, can_pass_down: bool = False) -> tuple[str, ...]:
    """What the person replies: 收到 for a notice; 完成 with a note for a task; 下发 for the secretary
    of an organisation a task was given to, who passes it on to the organisations below."""
    lines: list[str] = []
    if task:
        lines.append("收到请回复“收到”；完成后回复“完成 说明”，如“完成 已组织学习”。" if wants_receipt
                     else "完成后请回复“完成 说明”，如“完成 已组织学习”。")
        if can_pass_down:
            lines.append(f"回复“下发 {number}”转给下级组织。")
    elif wants_receipt:
        lines.append("请回复“收到”确认。")
    return tuple(lines)


def cut_at_word(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole when it fits, else cut after the last clause mark
    (or before the last opening quote) in its second half, with “…”."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = max(1, limit - len(ELLIPSIS))
    head = text[:room]
    # After a closing mark, or before an opening one (a name in quotes is not split: “灯塔在线”).
    cut = max([head.rfind(mark) + 1 for mark in BREAKS] + [head.rfind(mark) for mark in OPENINGS])
    if cut >= room // 2:
        head = head[:cut]
    return head.rstrip(" ，、：；\n") + ELLIPSIS


def when_words(moment: datetime, tz: tzinfo | None) -> str:
    """`12月4日（周五）17:00`, in the service's time zone."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def template_time(moment: datetime, tz: tzinfo | None) -> str:
    """A template `time` keyword: `2026年12月4日 17:00`."""
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def render_text(frame: Frame, *, tz: tzinfo | None, link: str | None = None, limit: int = PHONE_CHARS) -> str:
    """The framed text message. A text over `limit` characters is cut when a `link` to the whole
    notice can go with it; without one (a message to many people at once) it is sent whole."""
    body = frame.text.strip()
    if link is not None and len(body) > limit:
        body = f"{cut_at_word(body, limit)}\n全文：{link}"
    lines = [f"【{frame.title}】{frame.sender}", body]
    if frame.deadline is not None:
        lines.append(f"截止：{when_words(frame.deadline, tz)}")
    lines.extend(frame.answers)
    return "\n".join(lines)


# The keywords of the notice template (the 政务/党建 category's 工作通知 with these five keywords; the
# emulator holds the same definition and shows it as WeChat shows a template card).
TEMPLATE_KEYWORDS = {
    "thing1": "通知标题",
    "thing2": "发布单位",
    "time3": "发布时间",
    "time4": "截止时间",
    "thing5": "回复方式",
}


def template_fields(frame: Frame, *, sent_at: datetime, tz: tzinfo | None) -> dict[str, str]:
    """The template's keyword values: every `thing` at most 20 characters, every `time` a time."""
    first = next((line.strip() for line in frame.text.splitlines() if line.strip()), frame.title)
    title = f"【紧急】{first}" if frame.urgent else first
    fields = {
        "thing1": cut_at_word(title, THING_MAX),
        "thing2": cut_at_word(frame.sender, THING_MAX),
        "time3": template_time(sent_at, tz),
    }
    if frame.deadline is not None:
        fields["time4"] = template_time(frame.deadline, tz)
    how = _short_answer(frame)
    if how:
        fields["thing5"] = how
    return fields


def plain_template_fields(
    text: str, *, sent_at: datetime, tz: tzinfo | None, answer: str = "点开详情查看"
) -> dict[str, str]:
    """The keywords for a message without a frame of its own (a reminder, a digest of notices)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "通知")
    return {"thing1": cut_at_word(first, THING_MAX), "time3": template_time(sent_at, tz),
            "thing5": cut_at_word(answer, THING_MAX)}


def _short_answer(frame: Frame) -> str:
    """How to answer, in a `thing`'s 20 characters."""
    if frame.kind == "任务":
        return "点开详情查看，完成后回复“完成 说明”"
    if any("收到" in line for line in frame.answers):
        return "点开详情查看，并回复“收到”"
    return "点开详情查看全文"
