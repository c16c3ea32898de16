"""One function per step of the 发通知 conversation: check the answer, store it, ask the next
question (or repeat this one with a hint)."""

from collections.abc import Awaitable, Callable
from datetime import UTC, date

from handlers.context import Context
from handlers.notices import parsing
from handlers.notices.questions import MAX_TEXT, QUESTIONS, not_understood, summary
from models.conversation import Conversation
from models.notice import Notice, Urgency
from models.notice_queries import WHO_NAMES, preview, recipients_for
from models.notice_similarity import similar_recent, warning

Step = Callable[[Context, Conversation, str], Awaitable[str]]
DEFAULT_WHO = ("好", "好的", "默认", "党员", "ok")


def _next(conv: Conversation, step: str, **data: object) -> str:
    """Store the answer and ask the following question (the text is skipped when already given)."""
    conv.advance(step, **data)
    if step == "text" and conv.data.get("text"):
        conv.advance("urgency")
    return QUESTIONS[conv.step](conv.data)


async def orgs(ctx: Context, conv: Conversation, text: str) -> str:
    picked = parsing.numbers(text, len(conv.data["choices"]))
    if picked is None:
        return not_understood(text, QUESTIONS["orgs"](conv.data), "请回复列表中的编号。")
    org_ids = [conv.data["choices"][n - 1][0] for n in picked]
    return _next(conv, "who", orgs=org_ids)


async def who(ctx: Context, conv: Conversation, text: str) -> str:
    picked = [1] if not text or text.lower() in DEFAULT_WHO else parsing.numbers(text, len(WHO_NAMES))
    if picked is None:
        return not_understood(text, QUESTIONS["who"](conv.data), "请回复 1 到 5 的编号。")
    return _next(conv, "text", who=picked)


async def notice_text(ctx: Context, conv: Conversation, text: str) -> str:
    if not text:
        return QUESTIONS["text"](conv.data)
    if len(text) > MAX_TEXT:
        return f"内容太长（{len(text)}字），请缩短到{MAX_TEXT}字以内后重新发送。"
    return _next(conv, "urgency", text=text)


async def urgency(ctx: Context, conv: Conversation, text: str) -> str:
    urgent = {"1": False, "普通": False, "2": True, "紧急": True}.get(text)
    if urgent is None:
        return not_understood(text, QUESTIONS["urgency"](conv.data), "请回复 1 或 2。")
    return _next(conv, "receipt", urgent=urgent)


async def receipt(ctx: Context, conv: Conversation, text: str) -> str:
    wanted = parsing.yes_no(text)
    if wanted is None:
        return not_understood(text, QUESTIONS["receipt"](conv.data), "请回复“是”或“否”。")
    conv.advance("deadline", receipt=wanted)
    return QUESTIONS["deadline"](conv.data)


async def deadline(ctx: Context, conv: Conversation, text: str) -> str:
    today = ctx.now.date()
    question = QUESTIONS["deadline"](conv.data)
    if text.lower() in parsing.NO_DEADLINE:
        day = None
    else:
        try:
            day = parsing.deadline(text, today)
        except parsing.PastDate as past:
            return f"截止日期 {past} 已经过去，请回复今天（{today.isoformat()}）或以后的日期。\n{question}"
        if day is None:
            return not_understood(text, question, "日期可以写成 12月1日、2026-12-01 或 3天后。")
    conv.advance("confirm", deadline=day.isoformat() if day else None)
    return await show_preview(ctx, conv)


async def show_preview(ctx: Context, conv: Conversation) -> str:
    """Resolve the audience now and keep the draft notice, so 确认 has something to confirm."""
    data = conv.data
    people = await recipients_for(session=ctx.session, org_ids=data["orgs"], who=data["who"],
                                  task=bool(data.get("deadline")))
    if not people:
        conv.advance("orgs")
        return "所选范围内没有符合条件的人，请重新选择。\n" + QUESTIONS["orgs"](conv.data)
    notice = await ctx.session.get(Notice, conv.notice_id) if conv.notice_id else None
    notice = notice or Notice(org_id=issuing_org(ctx, conv), author_person_id=conv.person_id, text="")
    notice.text = data["text"]
    notice.urgency = Urgency.urgent if data["urgent"] else Urgency.normal
    notice.wants_receipt = data["receipt"]
    day = data.get("deadline")
    notice.deadline = parsing.end_of_day(date.fromisoformat(day), ctx.now.tzinfo).astimezone(UTC) if day else None
    notice.audience = {"org_ids": data["orgs"], "who": data["who"]}
    ctx.session.add(notice)
    await ctx.session.flush()
    conv.notice_id = notice.id
    earlier = await similar_recent(ctx.session, data["orgs"], data["text"], ctx.now)
    return summary(data, preview(people), warning(earlier, ctx.now) if earlier else "")


def issuing_org(ctx: Context, conv: Conversation) -> int:
    """The secretary's own organisation whose subtree holds the first chosen organisation."""
    paths = {org_id: path for org_id, _label, path in conv.data["choices"]}
    first = paths[conv.data["orgs"][0]]
    grants = sorted(ctx.sender.roles, key=lambda g: len(g.org_path))
    return next((g.org_id for g in grants if first.startswith(g.org_path)), grants[0].org_id)


STEPS: dict[str, Step] = {
    "orgs": orgs,
    "who": who,
    "text": notice_text,
    "urgency": urgency,
    "receipt": receipt,
    "deadline": deadline,
}
