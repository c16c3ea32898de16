"""`下发 <编号> [补充说明]`: a secretary who received a task passes it down to the organisations one
level below. A preview first lists them with their secretaries and asks 确认; the secretary may keep
only some (`1 3`, or a level: `下发 12 社区` leaves out an organ branch). `汇总 [编号]`: the issuer sees
the roll-up of the whole cascade, per level and the organisations not yet done."""

import re
from collections.abc import Callable
from datetime import UTC

from handlers.confirm_step import confirmed, in_conversation, open_or_done
from handlers.context import Context, Inbound
from handlers.notices.parsing import numbers
from handlers.routing import HelpBook, Router
from models.audit import record_audit
from models.conversation import Conversation, end_conversation, start_conversation
from models.notice import Notice, Urgency
from models.organisation import LEVEL_NAMES, Organisation, OrgLevel
from models.quiet_hours import not_before
from models.tasks import (
    ChildTarget,
    LevelCounts,
    OrgStatus,
    Rollup,
    latest_task_in_scope,
    pass_down,
    pass_down_targets,
    passed_down,
    received_task,
    rollup,
)
from models.typed import id_of

router = Router("tasks")
KIND = "pass_down"
EXPIRED = "上次的下发超过30分钟未确认，已取消；需要时请重新回复“下发 编号”。"
_WORDS = re.compile(r"[\s,，、和及与]+")
# The number ends at 号, a space or the end: "下发 3天内报送" has no number.
_NUMBER = re.compile(r"^[#＃]?第?\s*(\d+)(?:号|(?=\s|$))\s*(.*)$", re.S)
_COMMAND = "下发"
_SEPARATORS = " :：,，;；、\u3000"
ONLY_SECRETARIES = "只有收到任务的书记可以下发。"
NO_TASK = "您还没有收到需要下发的任务。"
SUMMARY_ONLY_SECRETARIES = "“汇总”只对书记、副书记和管理员开放。"
NO_TASKS = "您的管理范围内还没有任务。"
PREVIEW = 20
MAX_UNFINISHED = 10


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


def parse_args(args: str) -> tuple[int | None, str]:
    """"12 请各社区周五前报送" -> (12, "请各社区周五前报送"); "" -> (None, "")."""
    match = _NUMBER.match(args.strip())
    if match:
        return int(match.group(1)), match.group(2).strip()
    return None, args.strip()


def raw_note(msg: Inbound, notice_id: int | None, fallback: str) -> str:
    """The 补充说明 as typed (full-width punctuation kept), like the text of a notice."""
    raw = msg.content.strip()
    if not raw.startswith(_COMMAND):
        return fallback
    rest = raw[len(_COMMAND):].lstrip(_SEPARATORS)
    if notice_id is not None:
        rest = re.sub(r"^[#＃]?第?\s*[0-9０-９]+号?", "", rest).lstrip(_SEPARATORS)
    return rest.strip() or fallback


def _refuse(msg: Inbound, ctx: Context, reply: str, reason: str, notice: Notice | None = None,
            notice_id: int | None = None) -> str:
    record_audit(session=ctx.session, action="task.refused", actor=_actor(msg), actor_person_id=ctx.sender.person_id,
                 org_id=notice.org_id if notice else None, notice_id=notice.id if notice else notice_id,
                 reason=reason)
    return reply


@router.command("下发")
async def pass_task_down(msg: Inbound, ctx: Context, args: str) -> str:
    reply = await _pass_down(msg, ctx, args)
    await ctx.session.commit()
    return reply


async def _pass_down(msg: Inbound, ctx: Context, args: str) -> str:
    """The checks, then the preview (a conversation waiting for 确认); nothing is sent yet."""
    notice_id, note = parse_args(args)
    note = raw_note(msg, notice_id, note) if note else ""
    checked = await _check(msg, ctx, notice_id)
    if isinstance(checked, str):
        return checked
    notice, org = checked
    targets = await pass_down_targets(session=ctx.session, org=org)
    if not targets:
        return _refuse(msg, ctx, f"{org.name}没有下级组织，无需下发。完成后请回复“完成 {notice.id}”。",
                       "no_children", notice)
    if not any(t.reachable for t in targets):
        why = _nobody_why(targets)
        return _refuse(msg, ctx, f"无法下发：{why}。请联系管理员补充书记信息。", "no_secretaries", notice)
    chosen = _choose(note, targets)
    if chosen is not None:
        note = ""  # "社区" or "1 3" chose organisations: it is no 补充说明
    else:
        chosen = [id_of(t.org) for t in targets]
    assert ctx.sender.person_id is not None and notice.id is not None
    data = {"notice_id": notice.id, "org_id": id_of(org), "note": note, "chosen": chosen}
    await start_conversation(session=ctx.session, person_id=ctx.sender.person_id, kind=KIND, step="confirm",
                             data=data)
    ctx.forget_sender()
    return _preview(notice, targets, chosen, note)


async def _check(msg: Inbound, ctx: Context, notice_id: int | None) -> tuple[Notice, Organisation] | str:
    """The task the sender received and the organisation they pass it down from, or the refusal."""
    sender = ctx.sender
    if sender.person_id is None or not sender.roles:
        return _refuse(msg, ctx, ONLY_SECRETARIES, "not_secretary", notice_id=notice_id)
    found = await received_task(session=ctx.session, person_id=sender.person_id, notice_id=notice_id)
    if found is None:
        if notice_id is None:
            return NO_TASK
        return _refuse(msg, ctx, f"没有找到发给您的第 {notice_id} 号任务，只能下发您收到的任务。", "not_received",
                       notice_id=notice_id)
    notice, row = found
    if notice.deadline is None:
        return _refuse(msg, ctx, f"第 {notice.id} 号是通知，不是任务（没有截止日期），无需下发。", "not_a_task", notice)
    grant = next((g for g in sender.roles if g.org_id == row.org_id), None)
    if grant is None:
        return _refuse(msg, ctx, f"第 {notice.id} 号任务不是发给您所在组织书记的，无法下发。{ONLY_SECRETARIES}",
                       "not_addressed_to_org", notice)
    earlier = await passed_down(session=ctx.session, parent_id=id_of(notice), org_id=grant.org_id)
    if earlier is not None:
        return f"第 {notice.id} 号任务已经下发过了（编号 {earlier.id}），回复“汇总 {earlier.id}”查看进度。"
    org = await ctx.session.get(Organisation, grant.org_id)
    assert org is not None
    return notice, org


def _choose(text: str, targets: list[ChildTarget]) -> list[int] | None:
    """Organisations chosen by their numbers in the preview ("1 3") or by level ("社区"); None: no choice."""
    picked = numbers(text, len(targets)) if text else None
    if picked is not None:
        return [id_of(targets[n - 1].org) for n in picked]
    levels = {name: level for level, name in LEVEL_NAMES.items()} | {"支部": OrgLevel.branch}
    words = [w for w in _WORDS.split(text.strip()) if w]
    if not words or any(w not in levels for w in words):
        return None
    wanted = {levels[w] for w in words}
    chosen = [id_of(t.org) for t in targets if t.org.level in wanted]
    return chosen or None


def _nobody_why(targets: list[ChildTarget]) -> str:
    unbound = [n for t in targets if t.secretaries and not t.reachable for n in t.secretaries]
    missing = [t.org.name for t in targets if not t.secretaries]
    parts = [f"{'、'.join(unbound)}未绑定微信"] if unbound else []
    parts += [f"{'、'.join(missing)}没有书记"] if missing else []
    return "；".join(parts)


def _preview(notice: Notice, targets: list[ChildTarget], chosen: list[int], note: str) -> str:
    picked = [t for t in targets if id_of(t.org) in chosen]
    reached = [t for t in picked if t.reachable]
    levels = {t.org.level for t in reached}
    level = LEVEL_NAMES[levels.pop()] if len(levels) == 1 else "下级组织"
    lines = [f"第 {notice.id} 号任务将下发给 {len(reached)} 个{level}（{sum(t.reachable for t in reached)} 人）："]
    for number, target in enumerate(targets, 1):
        mark = "" if id_of(target.org) in chosen else "（不发）"
        if not target.secretaries:
            who = "没有书记，无法下发"
        elif not target.reachable:
            who = f"{'、'.join(target.secretaries)}，未绑定微信"
        else:
            who = "、".join(target.secretaries)
        lines.append(f"{number}. {target.org.name}（{who}）{mark}")
    if note:
        lines.append(f"补充说明：{note}")
    lines.append("回复“确认”下发；只发给其中几个请回复编号，如“1 2”；回复“取消”放弃。")
    return "\n".join(lines)


@router.message(in_conversation(KIND))
async def answer_preview(msg: Inbound, ctx: Context) -> str | None:
    conv, reply = await open_or_done(
        msg, ctx, KIND, cancelled=lambda c: f"已取消，第 {c.data['notice_id']} 号任务没有下发。", expired=EXPIRED
    )
    if conv is None:
        return reply
    notice_id = int(conv.data["notice_id"])
    if confirmed(msg):
        reply = await _confirmed(msg, ctx, conv)
        await ctx.session.commit()
        ctx.forget_sender()
        return reply
    org = await ctx.session.get(Organisation, int(conv.data["org_id"]))
    notice = await ctx.session.get(Notice, notice_id)
    assert org is not None and notice is not None
    targets = await pass_down_targets(session=ctx.session, org=org)
    chosen = _choose(msg.text, targets)
    if chosen is None:
        return f"请回复“确认”下发第 {notice_id} 号任务，或回复编号选择组织（如“1 2”），回复“取消”放弃。"
    conv.advance("confirm", chosen=chosen)
    ctx.session.add(conv)
    await ctx.session.commit()
    return _preview(notice, targets, chosen, str(conv.data.get("note") or ""))


async def _confirmed(msg: Inbound, ctx: Context, conv: Conversation) -> str:
    """确认: checked again (someone may have passed it down meanwhile), then sent."""
    await end_conversation(session=ctx.session, conv=conv)
    checked = await _check(msg, ctx, int(conv.data["notice_id"]))
    if isinstance(checked, str):
        return checked
    notice, org = checked
    sender = ctx.sender
    assert sender.person_id is not None
    note = str(conv.data.get("note") or "")
    start_at = not_before(ctx.now, ctx.settings.quiet_window, urgent=notice.urgency == Urgency.urgent)
    result = await pass_down(session=ctx.session, parent=notice, org=org, person_id=sender.person_id, note=note,
                             not_before=start_at.astimezone(UTC), only=set(conv.data["chosen"]))
    missing = "、".join(o.name for o in result.without_secretary)
    if result.child is None:
        unbound = f"{'、'.join(result.unreachable)}未绑定微信" if result.unreachable else ""
        why = "；".join(part for part in (unbound, f"{missing}没有书记" if missing else "") if part)
        return _refuse(msg, ctx, f"无法下发：{why}。请联系管理员补充书记信息。", "no_secretaries", notice)
    record_audit(session=ctx.session, action="task.pass_down", actor=_actor(msg), actor_person_id=sender.person_id,
                 org_id=org.id, notice_id=result.child.id, parent_id=notice.id, people=result.people,
                 orgs=[o.id for o in result.orgs_reached], note=note[:200])
    levels = {o.level for o in result.orgs_reached}
    level = LEVEL_NAMES[levels.pop()] if len(levels) == 1 else "下级组织"
    reply = f"已下发给 {len(result.orgs_reached)} 个{level}（{result.people} 人），编号 {result.child.id}。"
    if missing:
        reply += f"{missing}没有书记，无法下发。"
    if result.unreachable:
        reply += f"{'、'.join(result.unreachable)}未绑定微信，无法送达。"
    if start_at > ctx.now:
        reply += f"\n现在是休息时段，将于 {start_at:%H:%M} 起发送。"
    return reply


@router.command("汇总")
async def summary(msg: Inbound, ctx: Context, args: str) -> str:
    sender = ctx.sender
    if sender.person_id is None or not sender.roles:
        return SUMMARY_ONLY_SECRETARIES
    notice_id, rest = parse_args(args)
    if rest and notice_id is None:
        return "请回复“汇总”查看最新任务，或“汇总 编号”查看指定任务。"
    notice = await latest_task_in_scope(session=ctx.session, scope_paths=[g.org_path for g in sender.roles],
                                        notice_id=notice_id, own_org_ids=[g.org_id for g in sender.roles])
    if notice is None:
        return f"没有找到第 {notice_id} 号任务，或不在您的管理范围内。" if notice_id else NO_TASKS
    return render(await rollup(session=ctx.session, root=notice), ctx)


def level_figures(level: LevelCounts, mark_overdue: Callable[[str], str] = str) -> list[str]:
    """A level's figures after its completion (the chat and the progress page say the same):
    delivered, confirmed, then passed down and overdue when there are any."""
    figures = [f"送达 {level.delivered}", f"确认 {level.acked}"]
    if level.passed_down:
        figures.append(f"已下发 {level.passed_down}")
    if level.overdue:
        figures.append(mark_overdue(f"逾期 {level.overdue}"))
    return figures


def render(r: Rollup, ctx: Context) -> str:
    text = r.root.text.split("\n")[0]
    preview = text if len(text) <= PREVIEW else text[:PREVIEW] + "…"
    deadline = r.root.deadline.astimezone(ctx.now.tzinfo) if r.root.deadline else None
    due = f"（{deadline.month}月{deadline.day}日 {deadline:%H:%M} 截止）" if deadline else ""
    lines = [f"第 {r.root.id} 号任务：{preview}{due}"]
    for level in r.levels:
        lines.append("，".join([f"{level.level} {level.done}/{level.orgs} 完成", *level_figures(level)]))
    if not r.orgs:
        lines.append("还没有组织收到这项任务。")
    unfinished = r.unfinished
    if unfinished:
        names = [_org_line(o) for o in unfinished[:MAX_UNFINISHED]]
        more = f" 等 {len(unfinished)} 个" if len(unfinished) > MAX_UNFINISHED else ""
        lines.append("未完成：" + "、".join(names) + more)
    elif r.orgs:
        lines.append("全部完成。")
    noted = [o for o in r.orgs if o.notes]
    if noted:  # what the organisations wrote with 完成, for the issuer
        lines.append("完成说明：" + "；".join(f"{o.org.name}：{'，'.join(o.notes)}" for o in noted[:MAX_UNFINISHED]))
    return "\n".join(lines)


def _org_line(o: OrgStatus) -> str:
    who = "、".join(o.secretaries)
    return f"{o.org.name}（{who}{'，已逾期' if o.overdue else ''}）"


def register_help(book: HelpBook) -> None:
    book.add("下发 编号 补充说明 — 把收到的任务下发给下级组织书记（先看名单，回复“确认”）", "secretary")
    book.add("汇总 — 查看任务各级完成情况（也可“汇总 编号”）", "secretary")
