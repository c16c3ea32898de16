"""`下发 <编号> [补充说明]`: a secretary who received a task passes it down to the organisations one
level below, at once (busy secretaries get no preview step); `汇总 [编号]`: the issuer sees the
roll-up of the whole cascade, per level and the organisations not yet done."""

import re
from collections.abc import Callable
from datetime import UTC

from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from models.audit import record_audit
from models.notice import Notice, Urgency
from models.organisation import LEVEL_NAMES, Organisation
from models.quiet_hours import not_before
from models.tasks import (
    LevelCounts,
    OrgStatus,
    Rollup,
    latest_task_in_scope,
    pass_down,
    passed_down,
    received_task,
    rollup,
)
from models.typed import id_of

router = Router("tasks")
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
    sender = ctx.sender
    notice_id, note = parse_args(args)
    note = raw_note(msg, notice_id, note) if note else ""
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
    start_at = not_before(ctx.now, ctx.settings.quiet_window, urgent=notice.urgency == Urgency.urgent)
    result = await pass_down(session=ctx.session, parent=notice, org=org, person_id=sender.person_id, note=note,
                             not_before=start_at.astimezone(UTC))
    if not result.children:
        return _refuse(msg, ctx, f"{org.name}没有下级组织，无需下发。完成后请回复“完成 {notice.id}”。",
                       "no_children", notice)
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
    book.add("下发 编号 补充说明 — 把收到的任务下发给下级组织书记", "secretary")
    book.add("汇总 — 查看任务各级完成情况（也可“汇总 编号”）", "secretary")
