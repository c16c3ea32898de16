"""`紧急 12` / `立即发送 12`: a secretary whose notice waits for the end of the quiet hours (or a digest
slot) sends it at once, as if it had been urgent from the start. Offered in the answer to 确认 when
the quiet hours hold a notice."""

from handlers.confirm_step import secretary_command
from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, notice_number
from models.audit import record_audit
from models.clock import utcnow
from models.notice import Urgency
from models.outbox import release_held
from models.progress import find_notice
from models.subject import Subject

router = Router("urgent")
WORDS = ("紧急", "立即发送", "马上发送")


@router.message(secretary_command(*WORDS))
async def send_now(msg: Inbound, ctx: Context, args: str) -> str:
    person_id = ctx.sender.person_id
    assert person_id is not None  # a secretary is bound
    try:
        number = notice_number(args, "通知")
    except NotANumber:
        return "请回复“紧急 编号”立即发送那条通知。"
    notice = await find_notice(ctx.session, person_id=person_id, scope_paths=[g.org_path for g in ctx.sender.roles],
                               notice_id=number)
    if notice is None:
        return f"没有找到第 {number} 号通知，或不在您的管理范围内。" if number else "您还没有发过通知。"
    released = await release_held(session=ctx.session, subject=Subject.notice(notice.id), now=utcnow())
    if not released:
        return f"第 {notice.id} 号通知没有等待发送的消息，已在发送或已发完。回复“进度 {notice.id}”查看。"
    notice.urgency = Urgency.urgent
    ctx.session.add(notice)
    record_audit(session=ctx.session, action="notice.send_now", actor=f"wechat:{msg.platform.value}:{msg.from_user}",
                 actor_person_id=person_id, org_id=notice.org_id, notice_id=notice.id, released=released)
    await ctx.session.commit()
    return f"已改为紧急：第 {notice.id} 号通知现在发送给 {released} 人。"


def register_help(book: HelpBook) -> None:
    book.add("紧急 编号 — 休息时段等待中的通知立即发送", "secretary")
