"""What inbound messages mean. The order of ROUTERS is the precedence: binding before features,
the fallback last."""

from handlers import (
    admin_link,
    binding,
    calendar,
    compliance,
    confirmations,
    follow,
    help,
    inquiries,
    leave_decisions,
    meeting_changes,
    meeting_create,
    meeting_photos,
    meeting_records,
    meetings,
    notices,
    progress,
    resend,
    signin,
    tasks,
    urgent,
)
from handlers.routing import HelpBook, Router

ROUTERS: tuple[Router, ...] = (
    follow.router,
    binding.router,
    notices.router,  # before help: an open conversation takes every reply except 帮助
    meeting_create.router,  # 开会, and its open conversation's answers, like 发通知's
    resend.router,  # 补发 N, and its 确认 before confirmations
    tasks.router,  # 下发 / 汇总: before confirmations
    meetings.router,  # 参加 / 请假: words of their own, before the bare 收到 and 1
    leave_decisions.router,  # a secretary's 批准 / 不批准 of a 请假; anyone else's goes on to the help
    signin.router,  # 签到 <码>, a secretary's 签到码 and 补签
    calendar.router,  # 日程: a member's next meetings and calendar feed link
    meeting_records.router,  # a secretary's 已召开 and 台账; a member's 已补课
    meeting_changes.router,  # a secretary's 改期 and 取消会议
    compliance.router,  # a secretary's 合规
    confirmations.router,  # after notices: a secretary's open conversation keeps its 1 / 好 / ok
    progress.router,
    urgent.router,  # a secretary's 紧急 N; anyone else's 紧急 goes on to the help
    meeting_photos.router,  # a secretary's picture after a meeting (纪实); anyone else's goes on to the help
    help.router,
    admin_link.router,
    inquiries.router,  # 留言 and 回复; then a resident's text no command took goes to their community
    help.fallback_router,
)


def build_help_book() -> HelpBook:
    book = HelpBook()
    for module in (help, binding, admin_link, notices, meeting_create, confirmations, meetings, leave_decisions,
                   signin, calendar, meeting_records, meeting_changes, meeting_photos, compliance, progress, urgent,
                   resend, tasks, inquiries):
        module.register_help(book)
    return book
