"""`补发 12`: a secretary sends again the messages of a notice that ended 结果未知 — the service stopped
while their requests were out, so they may or may not have arrived. It asks for 确认 first and says
that whoever already has the notice gets it a second time."""

from handlers.confirm_step import confirmed, in_conversation, open_or_done, secretary_command
from handlers.context import Context, Inbound
from handlers.routing import HelpBook, Router
from handlers.text import NotANumber, notice_number
from models.audit import record_audit
from models.conversation import end_conversation, start_conversation
from models.delivery import count_unknown
from models.outbox import resend_unknown
from models.progress import find_notice
from models.subject import Subject

router = Router("resend")
KIND = "resend"
WORDS = ("补发", "重发")
EXPIRED = "上次的补发超过30分钟未确认，已取消；需要时请重新回复“补发 编号”。"


def _actor(msg: Inbound) -> str:
    return f"wechat:{msg.platform.value}:{msg.from_user}"


@router.message(secretary_command(*WORDS))
async def ask(msg: Inbound, ctx: Context, args: str) -> str:
    person_id = ctx.sender.person_id
    assert person_id is not None  # a secretary is bound
    try:
        number = notice_number(args, "通知")
    except NotANumber:
        return "请回复“补发 编号”重发那条通知中结果未知的消息。"
    notice = await find_notice(ctx.session, person_id=person_id, scope_paths=[g.org_path for g in ctx.sender.roles],
                               notice_id=number)
    if notice is None:
        return f"没有找到第 {number} 号通知，或不在您的管理范围内。" if number else "您还没有发过通知。"
    assert notice.id is not None
    count = await count_unknown(session=ctx.session, subject=Subject.notice(notice.id))
    if not count:
        return f"第 {notice.id} 号通知没有结果未知的消息，不需要补发。回复“进度 {notice.id}”查看。"
    await start_conversation(session=ctx.session, person_id=person_id, kind=KIND, step="confirm",
                             data={"notice_id": notice.id, "count": count})
    await ctx.session.commit()
    ctx.forget_sender()
    return (f"第 {notice.id} 号通知有 {count} 人结果未知：发送时服务中断，他们可能已经收到。"
            "补发后，已收到的人会再收到一次。\n回复“确认”补发，回复“取消”放弃。")


@router.message(in_conversation(KIND))
async def answer(msg: Inbound, ctx: Context) -> str | None:
    conv, reply = await open_or_done(
        msg, ctx, KIND, cancelled=lambda c: f"已取消，第 {c.data['notice_id']} 号通知不补发。", expired=EXPIRED
    )
    if conv is None:
        return reply
    notice_id = int(conv.data["notice_id"])
    if not confirmed(msg):
        return f"请回复“确认”补发第 {notice_id} 号通知，或回复“取消”放弃。"
    resent = await resend_unknown(session=ctx.session, subject=Subject.notice(notice_id), now=ctx.now)
    record_audit(session=ctx.session, action="notice.resend", actor=_actor(msg), actor_person_id=conv.person_id,
                 notice_id=notice_id, resent=resent)
    await end_conversation(session=ctx.session, conv=conv)
    await ctx.session.commit()
    ctx.forget_sender()
    if not resent:
        return f"第 {notice_id} 号通知已没有结果未知的消息，无需补发。"
    return f"已补发：第 {notice_id} 号通知现在重发给 {resent} 人。回复“进度 {notice_id}”查看。"


def register_help(book: HelpBook) -> None:
    book.add("补发 编号 — 重发结果未知的消息（可能重复收到）", "secretary")
