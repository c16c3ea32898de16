"""One function per step of the 发通知 conversation: check the answer, store it, ask the next
question (or repeat this one with a hint)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, tzinfo

from sqlmodel import col, select

from handlers.context import Context
from handlers.notices import parsing
from handlers.notices.questions import MAX_TEXT, QUESTIONS, WHO_MENU, not_understood, summary
from models.conversation import Conversation
from models.notice import Notice, Who
from models.notice_queries import org_choices
from models.notice_send import Composed, Draft, Refusal, compose_notice, fill_notice
from models.organisation import Organisation
from models.typed import id_of

Step = Callable[[Context, Conversation, str], Awaitable[str]]
DEFAULT_WHO = ("好", "好的", "默认", "党员", "ok")


def _next(conv: Conversation, step: str, **data: object) -> str:
    """Store the answer and ask the following question (the text is skipped when already given)."""
    conv.advance(step, **data)
    if step == "text" and conv.data.get("text"):
        conv.advance("urgency")
    return QUESTIONS[conv.step](conv.data)


async def orgs(ctx: Context, conv: Conversation, text: str) -> str:
    choices = conv.data["choices"]
    names = [[label.strip("　").split("（")[0], path.strip("/").split("/")[-1]] for _id, label, path in choices]
    deeper = parsing.split_prefix(text, DEEPER_WORDS)
    if deeper is not None or parsing.flat(text) in UP_WORDS:
        return await _browse(ctx, conv, deeper, names)
    picked = parsing.numbers(text, len(choices)) or parsing.by_names(text, names)
    if picked is None:
        return not_understood(text, QUESTIONS["orgs"](conv.data), "请回复列表中的编号或组织名称。")
    org_ids = [conv.data["choices"][n - 1][0] for n in picked]
    return _next(conv, "who", orgs=org_ids)


DEEPER_WORDS = ("下一级", "下级", "展开")
UP_WORDS = ("上一级", "返回", "上一层")


async def _browse(ctx: Context, conv: Conversation, deeper: str | None, names: list[list[str]]) -> str:
    """`下一级 2`: the list becomes that organisation and the ones directly below it; `上一级` goes back."""
    choices = conv.data["choices"]
    if deeper is None:  # 上一级
        under = conv.data.get("parents", [])[-1:] or [None]
        parents = conv.data.get("parents", [])[:-1]
        target = under[0]
    else:
        picked = parsing.numbers(deeper, len(choices)) or parsing.by_names(deeper, names)
        if not picked or len(picked) != 1 or choices[picked[0] - 1][0] not in conv.data.get("deeper", []):
            return f"请回复“下一级 编号”，编号是列表中标有“含下级”的组织。\n{QUESTIONS['orgs'](conv.data)}"
        target = choices[picked[0] - 1][0]
        parents = [*conv.data.get("parents", []), conv.data.get("under")]
    found = await org_choices(session=ctx.session, root_ids=[g.org_id for g in ctx.sender.roles], under=target)
    if not found:
        found = await org_choices(session=ctx.session, root_ids=[g.org_id for g in ctx.sender.roles])
        target, parents = None, []
    conv.advance("orgs", choices=[[c.org_id, c.label, c.path] for c in found],
                 deeper=[c.org_id for c in found if c.has_children], under=target, parents=parents)
    return QUESTIONS["orgs"](conv.data)


async def who(ctx: Context, conv: Conversation, text: str) -> str:
    picked = [1] if not text or parsing.flat(text) in DEFAULT_WHO else (
        parsing.numbers(text, len(WHO_MENU)) or parsing.by_names(text, [[w.value] for w in WHO_MENU.values()])
    )
    if picked is None:
        return not_understood(text, QUESTIONS["who"](conv.data), "请回复 1 到 5 的编号，或写出对象，如“党员和书记”。")
    # Stored by name, in menu order (the notice keeps the names, never the menu's numbers).
    return _next(conv, "text", who=[WHO_MENU[n].value for n in sorted(set(picked))])


async def notice_text(ctx: Context, conv: Conversation, text: str) -> str:
    if not text:
        return QUESTIONS["text"](conv.data)
    if len(text) > MAX_TEXT:
        return f"内容太长（{len(text)}字），请缩短到{MAX_TEXT}字以内后重新发送。"
    return _next(conv, "urgency", text=text)


async def urgency(ctx: Context, conv: Conversation, text: str) -> str:
    urgent = parsing.urgent(text)
    if urgent is None:
        return not_understood(text, QUESTIONS["urgency"](conv.data), "请回复 1 或 2，或“普通”“紧急”。")
    return _next(conv, "receipt", urgent=urgent)


async def receipt(ctx: Context, conv: Conversation, text: str) -> str:
    wanted = parsing.yes_no(text)
    if wanted is None:
        return not_understood(text, QUESTIONS["receipt"](conv.data), "请回复“是”或“否”。")
    conv.advance("deadline", receipt=wanted)
    return QUESTIONS["deadline"](conv.data)


async def deadline(ctx: Context, conv: Conversation, text: str) -> str:
    # jionlp's dictionaries take most of a second and ~40 MB: loaded in a thread by the first deadline
    # a process is given, not at start (most processes answer callbacks only) and not on the loop.
    await asyncio.to_thread(parsing.load_time_parser)
    today = ctx.now.date()
    question = QUESTIONS["deadline"](conv.data)
    if parsing.flat(text) in parsing.NO_DEADLINE:
        moment = None
    else:
        try:
            moment = parsing.deadline_moment(text, ctx.now)
        except parsing.PastDate as past:
            return f"截止时间 {past} 已经过去，请回复以后的时间。\n{question}"
        if moment is None:
            soon = today + timedelta(days=3)
            return not_understood(
                text, question, f"可以写成 明天、下周一上午9点、3天后 或 {soon.month}月{soon.day}日下午5点。"
            )
    conv.advance("confirm", deadline=moment.isoformat() if moment else None)
    return await show_preview(ctx, conv)


async def compose(ctx: Context, conv: Conversation) -> Composed:
    """The conversation's answers checked like an API request or a CLI call (models/notice_send.py):
    the secretary's scope, who is reached, and a near-duplicate. Raises Refusal."""
    data = conv.data
    found = await ctx.session.exec(select(Organisation).where(col(Organisation.id).in_(data["orgs"])))
    chosen = {o.id: o for o in found}
    day = data.get("deadline")
    draft = Draft(
        orgs=[chosen[i] for i in data["orgs"] if i in chosen],
        who=[Who(w) for w in data["who"]],
        text=data["text"],
        urgent=data["urgent"],
        receipt=data["receipt"],
        deadline=stored_deadline(day, ctx.now.tzinfo) if day else None,
    )
    return await compose_notice(session=ctx.session, draft=draft, roots=await _role_roots(ctx), now=ctx.now)


def stored_deadline(value: str, tz: tzinfo | None) -> datetime:
    """The conversation keeps the moment (ISO with its offset); one begun before times were understood
    kept a day."""
    if "T" in value:
        return datetime.fromisoformat(value)
    return parsing.end_of_day(date.fromisoformat(value), tz)


async def _role_roots(ctx: Context) -> list[Organisation]:
    ids = [g.org_id for g in ctx.sender.roles]
    rows = await ctx.session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))
    return sorted(rows, key=lambda o: len(o.path))


async def show_preview(ctx: Context, conv: Conversation) -> str:
    """Compose the notice now and keep the draft notice row, so 确认 has something to confirm."""
    try:
        composed = await compose(ctx, conv)
    except Refusal as refusal:
        conv.advance("orgs")
        if refusal.error == "no_recipients":
            return "所选范围内没有符合条件的人，请重新选择。\n" + QUESTIONS["orgs"](conv.data)
        return f"{refusal.reason}，请重新选择。\n" + QUESTIONS["orgs"](conv.data)
    notice = await ctx.session.get(Notice, conv.notice_id) if conv.notice_id else None
    notice = fill_notice(notice or Notice(org_id=id_of(composed.issuing), author_person_id=conv.person_id, text=""),
                         composed.draft)
    ctx.session.add(notice)
    await ctx.session.flush()
    conv.notice_id = notice.id
    return summary(conv.data, composed.preview, composed.warning)


STEPS: dict[str, Step] = {
    "orgs": orgs,
    "who": who,
    "text": notice_text,
    "urgency": urgency,
    "receipt": receipt,
    "deadline": deadline,
}
