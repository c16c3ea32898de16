"""`POST /api/notices` and `GET /api/notices/{id}`: the chat's 发通知 for other systems (an OA, a
district platform). A bearer token is scoped to one organisation's subtree and sends on behalf of a
secretary whose role must still cover it. Every send and every refusal is audited."""

import asyncio
import hashlib
import weakref
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.keys import SESSIONS, SETTINGS
from bot.web.api_edge import answer, authorised, field, json_body, refused
from models.api_token import ApiToken
from models.audit import AuditEntry, record_audit
from models.notice_send import (
    Draft,
    Refusal,
    RefusalKind,
    checked_deadline,
    checked_text,
    compose_notice,
    confirm,
    orgs_by_code,
    who_of,
)
from models.progress import find_notice, notice_progress
from models.tasks import is_task_to_secretaries, rollup

MAX_KEY = 200


async def _draft(session: AsyncSession, body: dict[str, Any], now: datetime) -> Draft:
    deadline = field(body, "deadline", str, None)
    return Draft(
        orgs=await orgs_by_code(session, field(body, "orgs", list, [])),
        who=who_of(field(body, "who", list, ["党员"])),
        text=checked_text(field(body, "text", str, "")),
        urgent=field(body, "urgent", bool, False),
        receipt=field(body, "receipt", bool, True),
        deadline=checked_deadline(deadline, now) if deadline else None,
    )


def _codes(body: dict[str, Any]) -> list[str]:
    """What the refused request asked for, kept short in the audit entry."""
    codes = body.get("orgs")
    return [str(c)[:32] for c in codes[:20]] if isinstance(codes, list) else []


async def _earlier_answer(session: AsyncSession, token: ApiToken, key: str) -> dict[str, Any] | None:
    """A send already made with this Idempotency-Key and token: its audit entry holds the answer."""
    entry = (
        await session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "notice.api",
                AuditEntry.detail["token_id"].as_integer() == token.id,
                AuditEntry.detail["idempotency_key"].as_string() == key,
            )
        )
    ).first()
    return entry.detail.get("answer") if entry else None


_KEY_LOCKS = web.AppKey("idempotency_key_locks", weakref.WeakValueDictionary)


def _lock_id(authorization: str, key: str) -> int:
    digest = hashlib.sha256(f"{authorization}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)  # a PostgreSQL advisory lock takes a bigint


async def post_notice(request: web.Request) -> web.Response:
    """Requests with the same token and Idempotency-Key run one after the other, so a retry that
    overtakes its first attempt gets the first answer instead of sending again: a lock per key in
    this process, and on PostgreSQL a transaction-scoped advisory lock for the other instances."""
    key = request.headers.get("Idempotency-Key", "").strip()[:MAX_KEY]
    if not key:
        return await _post_notice(request, key, None)
    lock_id = _lock_id(request.headers.get("Authorization", ""), key)
    locks: weakref.WeakValueDictionary[int, asyncio.Lock] = request.app[_KEY_LOCKS]
    lock = locks.get(lock_id)
    if lock is None:  # kept alive by the requests holding or awaiting it, then forgotten
        lock = locks[lock_id] = asyncio.Lock()
    async with lock:
        return await _post_notice(request, key, lock_id)


async def _post_notice(request: web.Request, key: str, lock_id: int | None) -> web.Response:
    settings = request.app[SETTINGS]
    now = datetime.now(settings.tz)
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        body: dict[str, Any] = {}
        try:
            if lock_id is not None and session.get_bind().dialect.name == "postgresql":
                await session.exec(select(func.pg_advisory_xact_lock(lock_id)))
            token, scope = await authorised(session, request)
            if key and (first := await _earlier_answer(session, token, key)) is not None:
                return answer(201, first)
            body = await json_body(request)
            composed = await compose_notice(session=session, draft=await _draft(session, body, now), roots=[scope],
                                            now=now)
            view = composed.preview
            plan = {"recipients": view.total, "by_channel": dict(view.by_channel), "unreachable": view.unreachable}
            if field(body, "dry_run", bool, False):
                earlier = composed.similar
                similar = {"id": earlier.id, "reason": composed.warning} if earlier else None
                return answer(200, {"dry_run": True, **plan, "similar": similar})
            composed.check_duplicate(force=field(body, "force", bool, False), hint="确需再发请加 \"force\": true")
            sent = await confirm(session=session, composed=composed, author_person_id=token.person_id,
                                 quiet=settings.quiet_window, digest_minutes=settings.digest_minutes)
        except Refusal as refusal:
            return await refused(session, refusal, token, action="notice.refused", orgs=_codes(body),
                                 idempotency_key=key or None)
        result = {"id": sent.notice.id, **plan, "not_before": sent.not_before.isoformat()}
        record_audit(session=session, action="notice.api", actor=f"api:{token.id}", actor_person_id=token.person_id,
                     org_id=token.org_id, notice_id=sent.notice.id, token_id=token.id, idempotency_key=key or None,
                     recipients=sent.count, people=sent.people, forced=composed.similar is not None, answer=result)
        await session.commit()
    return answer(201, result)


async def get_notice(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        token: ApiToken | None = None
        try:
            token, scope = await authorised(session, request)
            notice_id = int(request.match_info["id"]) if request.match_info["id"].isdigit() else 0
            notice = await find_notice(session, person_id=token.person_id, scope_paths=[scope.path],
                                       notice_id=notice_id)
            if notice is None:
                # Same answer for "no such notice" and "not yours": no probing of other organisations.
                raise Refusal(RefusalKind.not_allowed, "out_of_scope",
                              f"没有找到第 {notice_id} 号通知，或不在令牌的管理范围内")
        except Refusal as refusal:
            return await refused(session, refusal, token, action="notice.refused",
                                 notice_id=request.match_info["id"][:20])
        progress = await notice_progress(session, notice)
        tree = await rollup(session=session, root=notice) if is_task_to_secretaries(notice) else None
    levels = [
        {"level": lv.level, "orgs": lv.orgs, "delivered": lv.delivered, "acked": lv.acked,
         "passed_down": lv.passed_down, "done": lv.done, "overdue": lv.overdue}
        for lv in (tree.levels if tree else [])
    ]
    return answer(200, {
        "id": notice.id,
        "text": notice.text,
        "total": progress.total,
        "sent": progress.sent,
        "sending": progress.sending,
        "failed": progress.failed,
        "unknown": progress.unknown,
        "failed_reason": progress.failed_reason,
        "acked": progress.acked,
        "done": progress.done,
        "orgs": [{"name": o.name, "people": o.people, "sent": o.sent, "acked": o.acked} for o in progress.orgs],
        "unacked": progress.unacked,
        "notes": [{"name": n.name, "org": n.org, "note": n.note} for n in progress.notes],  # written with 完成
        "levels": levels,  # a task passed down (下发): completion per level
        "unfinished": [{"org": o.org.name, "notice_id": o.notice_id, "overdue": o.overdue}
                       for o in (tree.unfinished if tree else [])],
    })


def add_routes(app: web.Application) -> None:
    app[_KEY_LOCKS] = weakref.WeakValueDictionary()
    app.router.add_post("/api/notices", post_notice)
    app.router.add_get("/api/notices/{id}", get_notice)
