"""`grassroots meeting create | list | cancel`: meetings from the command line, for an administrator
setting up a year's series or scripting them. `create` takes the same fields as `POST /api/meetings`
(and is checked the same way); `--dry-run` shows the dates and who is invited without creating."""

import argparse
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_session import EXIT_OK, EXIT_REFUSED, run_with_session
from bot.settings import Settings
from bot.web.api_meetings import plan_from_body
from models.audit import record_audit
from models.meeting import KIND_NAMES, Meeting, MeetingKind, MeetingStatus, create_meetings
from models.meeting_changes import cancel
from models.meeting_dates import unknown_years
from models.meeting_reminders import queue_due_reminders
from models.message_frame import when_words
from models.notice_send import Refusal
from models.organisation import Organisation, get_org_by_code

ACTOR = "cli"
STATUS_NAMES = {MeetingStatus.scheduled: "待召开", MeetingStatus.held: "已召开", MeetingStatus.cancelled: "已取消"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="meeting_command", required=True)
    create = sub.add_parser("create", help="安排会议或会议系列（字段同 POST /api/meetings）")
    create.add_argument("--org", required=True, help="组织编码")
    create.add_argument("--kind", required=True, help="会议类型：支部党员大会、支委会、党小组会、党课、主题党日…")
    create.add_argument("--at", required=True, help="开始时间，如 2026-12-28T19:30（按服务时区）或带 +08:00")
    create.add_argument("--place", required=True)
    create.add_argument("--minutes", type=int, default=90)
    create.add_argument("--title", default="")
    create.add_argument("--topic", default="")
    create.add_argument("--group", default=None, help="党小组会的党小组编码")
    create.add_argument("--repeat", default=None,
                        help="重复：month:15（每月15日）、month:2:3（每月第3个周二）、quarter、year")
    create.add_argument("--until", default=None, help="重复截止日期，如 2027-12-31")
    create.add_argument("--holiday", default="next_workday", help="遇法定节假日：next_workday、previous_workday、keep")
    create.add_argument("--dry-run", action="store_true", help="只显示日期和参会人数，不创建")
    listing = sub.add_parser("list", help="列出会议")
    listing.add_argument("--org", default=None, help="只列该组织编码及其下级")
    listing.add_argument("--days", type=int, default=30, help="列出今后多少天内的会议（默认 30）")
    off = sub.add_parser("cancel", help="取消会议并通知参会人员")
    off.add_argument("id", type=int)
    off.add_argument("--reason", default="")


def repeat_field(text: str | None, until: str | None) -> dict[str, Any] | None:
    """`month:15`, `month:2:3` (the 3rd Tuesday), `quarter`, `year` → the API's repeat object."""
    if not text:
        return None
    parts = text.split(":")
    found: dict[str, Any] = {"every": parts[0]}
    numbers = [int(p) for p in parts[1:] if p.isdigit()]
    if len(numbers) != len(parts) - 1:
        found["day"] = "?"  # refused by the API's check with its own message
    elif len(numbers) == 1:
        found["day"] = numbers[0]
    elif len(numbers) == 2:
        found["weekday"], found["nth"] = numbers
    if until:
        found["until"] = until
    return found


def run_meeting_cli(settings: Settings, args: argparse.Namespace) -> int:
    if args.meeting_command == "create":
        return run_with_session(settings.database_url, lambda s: _create(s, settings, args))
    if args.meeting_command == "list":
        return run_with_session(settings.database_url, lambda s: _list(s, settings, args))
    return run_with_session(settings.database_url, lambda s: _cancel(s, settings, args))


def _starts_at(text: str, settings: Settings) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # refused by the API's check
    return (moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)).isoformat()


async def _create(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(settings.tz)
    org = await get_org_by_code(session=session, code=args.org)
    if org is None:
        print(f"没有组织编码 {args.org}")
        return EXIT_REFUSED
    body: dict[str, Any] = {"org": args.org, "kind": args.kind, "title": args.title, "topic": args.topic,
                            "starts_at": _starts_at(args.at, settings), "minutes": args.minutes,
                            "place": args.place, "holiday": args.holiday}
    if args.group:
        body["group"] = args.group
    if (repeat := repeat_field(args.repeat, args.until)) is not None:
        body["repeat"] = repeat
    try:
        plan = await plan_from_body(session, body, org, now)
    except Refusal as refusal:
        print(f"未创建：{refusal.reason}")
        return EXIT_REFUSED
    if not plan.dates:
        print("未创建：按该重复规则，截止日期前没有会议")
        return EXIT_REFUSED
    for placed in plan.dates:
        note = placed.describe()
        print(f"{when_words(plan.starts(placed), settings.tz)}  {note if placed.moved_from or placed.holiday else ''}")
    print(f"{KIND_NAMES[plan.kind]}，{plan.org.name}，共 {len(plan.dates)} 次，参会 {len(plan.attendees)} 人")
    if years := unknown_years(plan.dates):
        print(f"注意：{'、'.join(map(str, years))} 年的法定节假日尚未导入（grassroots holidays load），"
              "暂按周一至周五排期")
    if args.dry_run:
        print("（试运行，未创建）")
        return EXIT_OK
    meetings = await create_meetings(session=session, plan=plan, author_person_id=None)
    reminders = await queue_due_reminders(session=session, now=now, quiet=settings.quiet_window,
                                          offsets=settings.reminder_offsets)
    record_audit(session=session, action="meeting.cli", actor=ACTOR, org_id=plan.org.id,
                 meeting_ids=[m.id for m in meetings])
    await session.commit()
    print(f"已创建第 {meetings[0].id}" + (f"–{meetings[-1].id}" if len(meetings) > 1 else "")
          + f" 号会议；已排入提醒 {reminders} 条（其余在会前自动提醒）")
    return EXIT_OK


async def _list(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(settings.tz)
    query = (select(Meeting, Organisation).join(Organisation, col(Organisation.id) == Meeting.org_id)
             .where(col(Meeting.starts_at) >= now - timedelta(days=1),
                    col(Meeting.starts_at) <= now + timedelta(days=args.days)).order_by(col(Meeting.starts_at)))
    if args.org:
        root = await get_org_by_code(session=session, code=args.org)
        if root is None:
            print(f"没有组织编码 {args.org}")
            return EXIT_REFUSED
        query = query.where(col(Organisation.path).startswith(root.path))
    rows = (await session.exec(query)).all()
    for meeting, org in rows:
        status = STATUS_NAMES[MeetingStatus(meeting.status)]
        print(f"{meeting.id:>6}  {when_words(meeting.starts_at, settings.tz)}  {KIND_NAMES[MeetingKind(meeting.kind)]}"
              f"  {org.name}  {meeting.place}  {status}")
    print(f"共 {len(rows)} 个会议")
    return EXIT_OK


async def _cancel(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(settings.tz)
    meeting = await session.get(Meeting, args.id)
    org = await session.get(Organisation, meeting.org_id) if meeting else None
    if meeting is None or org is None:
        print(f"没有第 {args.id} 号会议")
        return EXIT_REFUSED
    changed = await cancel(session=session, meeting=meeting, org=org, reason=args.reason, by=None, actor=ACTOR,
                           now=now, quiet=settings.quiet_window)
    await session.commit()
    if changed.refused:
        print(changed.refused)
        return EXIT_REFUSED
    print(f"已取消第 {meeting.id} 号会议，已通知 {changed.told} 名参会人员")
    return EXIT_OK
