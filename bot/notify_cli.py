"""`grassroots notify`: the chat's 发通知 from a terminal. It checks the same scope as the chat and
the API, shows the preview, asks before sending and writes the outbox; a running `grassroots serve`
delivers it. A refusal is one Chinese line on stderr and a non-zero exit code."""

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_session import EXIT_OK, EXIT_REFUSED, EXIT_UNUSABLE, run_with_session
from bot.settings import Settings
from handlers.notices.questions import reach_lines
from models.audit import record_audit
from models.notice import Who
from models.notice_queries import Preview
from models.notice_send import (
    Draft,
    Refusal,
    RefusalKind,
    checked_deadline,
    checked_text,
    compose_notice,
    confirm,
    orgs_by_code,
    role_orgs,
    who_of,
)
from models.person import Person

ACTOR = "cli"
UNREACHABLE_NAMES = 10
YES = ("y", "yes", "是", "确认")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", action="append", required=True, help="组织编码，可重复：--org C01 --org C02")
    parser.add_argument("--who", default="党员", help=f"发给哪些人，逗号分隔：{','.join(w.value for w in Who)}")
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="通知内容")
    text.add_argument("--text-file", help="从 UTF-8 文本文件读取通知内容")
    parser.add_argument("--urgent", action="store_true", help="紧急：夜间也立即发送")
    parser.add_argument("--no-receipt", action="store_true", help="不需要回复“收到”")
    parser.add_argument("--deadline", default=None, help="任务截止时间，如 2026-12-01T18:00")
    parser.add_argument("--as", dest="phone", required=True, help="以哪位书记的名义发送（手机号）")
    parser.add_argument("--yes", action="store_true", help="不再询问，直接发送")
    parser.add_argument("--dry-run", action="store_true", help="只显示预览，不发送")
    parser.add_argument("--force", action="store_true", help="即使24小时内发过相似通知也发送")


def run_notify_cli(settings: Settings, args: argparse.Namespace) -> int:
    if args.text_file:
        try:
            args.text = Path(args.text_file).read_text(encoding="utf-8")
        except OSError:
            print(f"无法读取文件：{args.text_file}", file=sys.stderr)
            return EXIT_UNUSABLE
        except UnicodeDecodeError:
            print(f"文件不是 UTF-8 文本：{args.text_file}", file=sys.stderr)
            return EXIT_UNUSABLE

    return run_with_session(settings.database_url, lambda session: _notify(session, settings, args))


async def _notify(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(settings.tz)
    phone = args.phone.replace(" ", "")
    person = (await session.exec(select(Person).where(Person.phone == phone))).first()
    try:
        if person is None:
            raise Refusal(RefusalKind.not_allowed, "unknown_person", f"找不到手机号为 {phone} 的人员")
        draft = Draft(
            orgs=await orgs_by_code(session, args.org),
            who=who_of([w.strip() for w in args.who.replace("，", ",").replace("、", ",").split(",") if w.strip()]),
            text=checked_text(args.text),
            urgent=args.urgent,
            receipt=not args.no_receipt,
            deadline=checked_deadline(args.deadline, now) if args.deadline else None,
        )
        assert person.id is not None
        roots = await role_orgs(session, person.id)
        if not roots:
            raise Refusal(RefusalKind.not_allowed, "no_role", f"{person.name}不是书记、副书记或管理员，不能发通知")
        composed = await compose_notice(session=session, draft=draft, roots=roots, now=now)
        print(_preview_text(draft, composed.preview))
        if composed.similar is not None:
            print(f"注意：{composed.warning}。")
        if args.dry_run:
            print("（试运行：未发送，也未写入任何内容）")
            return EXIT_OK
        # Asked at the prompt, the secretary decides after the warning; with --yes only --force does.
        composed.check_duplicate(force=args.force or not args.yes, hint="确需再发请加 --force")
    except Refusal as refusal:
        record_audit(session=session, action="notice.refused", actor=ACTOR,
                     actor_person_id=person.id if person else None, channel="cli", error=refusal.error,
                     reason=refusal.reason, orgs=args.org)
        await session.commit()
        print(refusal.reason, file=sys.stderr)
        return EXIT_REFUSED
    if not args.yes:
        await session.commit()  # no transaction stays open while the secretary reads the preview
        if (await asyncio.to_thread(_ask, "确认发送？[y/N] ")) not in YES:
            print("已取消，未发送。")
            return EXIT_REFUSED
    sent = await confirm(session=session, composed=composed, author_person_id=person.id,
                         quiet=settings.quiet_window, digest_minutes=settings.digest_minutes)
    record_audit(session=session, action="notice.cli", actor=ACTOR, actor_person_id=person.id,
                 org_id=composed.issuing.id, notice_id=sent.notice.id, recipients=sent.count, people=sent.people,
                 forced=composed.similar is not None)
    await session.commit()
    print("\n".join(sent.answer(now)))
    print("已写入发送队列，由运行中的 grassroots serve 发出。")
    return EXIT_OK


def _ask(question: str) -> str:
    try:
        return input(question).strip().lower()
    except EOFError:  # no terminal (a script without --yes): nothing is sent
        return ""


def _preview_text(draft: Draft, view: Preview) -> str:
    lines = [
        f"对象：{'、'.join(o.name for o in draft.orgs)} · {'、'.join(w.value for w in draft.who)}",
        f"内容：{draft.text}",
        f"紧急程度：{'紧急' if draft.urgent else '普通'}；需回复“收到”：{'是' if draft.receipt else '否'}",
        f"截止时间：{draft.deadline:%Y-%m-%d %H:%M}" if draft.deadline else "截止时间：无（普通通知）",
    ]
    return "\n".join(lines + reach_lines(view, UNREACHABLE_NAMES))
