"""`POST /api/notices`: the district's OA sends 王书记's notice to 阳光社区 with a bearer token; members'
phones get it. Every refusal is a clear Chinese reason, a status code a program can act on, and an
audit entry."""

import asyncio
import hashlib
from typing import Any

import pytest
from sqlmodel import col, delete, func, select

from bot.cli import main
from models import ApiToken, AuditEntry, Delivery, Notice, Role
from models.api_token import revoke_token
from tests.framing import bodies
from tests.seed import Roster, api_token
from tests.stack import Stack

TEXT = "今晚防汛值班，请党员19点到社区集合，带好雨具和手电"


async def _post(stack: Stack, token: str | None, body: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with stack.http() as client:
        if "content" in kwargs:
            return await client.post("/api/notices", headers=headers, **kwargs)
        return await client.post("/api/notices", headers=headers, json=body)


def _notice(**fields: Any) -> dict[str, Any]:
    return {"orgs": ["C01"], "who": ["党员"], "text": TEXT, "urgent": True, **fields}


async def _count(stack: Stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with stack.sessions() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def _refusals(stack: Stack) -> list[dict[str, Any]]:
    async with stack.sessions() as s:
        rows = await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.refused").order_by(AuditEntry.id))
        return [r.detail for r in rows]


async def test_a_notice_posted_by_the_oa_reaches_the_members_phone(stack: Stack, roster: Roster) -> None:
    assert "绑定成功" in (await stack.phone("mp", "o_li").send_text("绑定 LI2345")).content
    token = await api_token(stack.sessions, roster)

    answer = await _post(stack, token, _notice(receipt=True, deadline=None))

    assert answer.status_code == 201
    body = answer.json()
    assert body["recipients"] == 3  # 王书记, 李党员, 赵党员
    # The roster names 王书记's and 赵党员's WeCom accounts: WeCom reaches them by userid.
    assert body["by_channel"] == {"48小时内互动过：公众号客服消息": 1, "企业微信应用消息": 2}
    assert body["unreachable"] == []
    on_mp = await stack.emulator.wait_for_messages("mp", "o_li", within=5)
    assert bodies(on_mp) == [TEXT]
    async with stack.sessions() as s:
        notice = await s.get(Notice, body["id"])
        entry = (await s.exec(select(AuditEntry).where(AuditEntry.action == "notice.api"))).one()
    assert notice is not None and notice.author_person_id == roster.people["wang"].id
    assert notice.org_id == roster.orgs["C01"].id
    assert entry.detail["notice_id"] == body["id"] and entry.actor_person_id == roster.people["wang"].id

    async with stack.http(headers={"Authorization": f"Bearer {token}"}) as client:
        progress = (await client.get(f"/api/notices/{body['id']}")).json()
    assert progress["id"] == body["id"] and progress["total"] == 3
    assert progress["unacked"] == ["王书记", "李党员", "赵党员"]


async def test_a_non_urgent_notice_at_night_waits_for_the_morning(stack: Stack, roster: Roster) -> None:
    stack.settings.quiet_hours = "00:00-23:59"  # whatever the hour the test runs, it is quiet time
    answer = await _post(stack, await api_token(stack.sessions, roster), _notice(urgent=False))
    assert answer.status_code == 201
    assert answer.json()["not_before"].endswith("T23:59:00+08:00")


async def test_a_dry_run_shows_the_preview_and_writes_nothing(stack: Stack, roster: Roster) -> None:
    answer = await _post(stack, await api_token(stack.sessions, roster), _notice(dry_run=True))
    assert answer.status_code == 200
    assert answer.json()["recipients"] == 3 and answer.json()["dry_run"] is True
    assert await _count(stack, Notice) == 0
    assert await _count(stack, Delivery) == 0
    assert await _count(stack, AuditEntry, col(AuditEntry.action).startswith("notice.")) == 0


@pytest.mark.parametrize(
    ("body", "error", "field", "reason"),
    [
        (_notice(who=["党员", "群众"]), "unknown_who", "who", "不认识的对象“群众”"),
        (_notice(text="   "), "empty_text", "text", "通知内容不能为空"),
        (_notice(text="字" * 2001), "text_too_long", "text", "内容太长（2001字）"),
        (_notice(deadline="2020-01-01T18:00:00+08:00"), "past_deadline", "deadline",
         "截止时间 2020-01-01 18:00 已经过去"),
        (_notice(deadline="下周五"), "bad_deadline", "deadline", "截止时间格式不对"),
        (_notice(orgs=["C01", "X99"]), "unknown_org", "orgs", "没有编码为 X99 的组织"),
        (_notice(urgent="yes"), "bad_field", "urgent", "urgent 应为true 或 false"),
    ],
)
async def test_a_bad_request_is_400_with_the_reason_and_the_field(
    stack: Stack, roster: Roster, body: dict[str, Any], error: str, field: str, reason: str
) -> None:
    answer = await _post(stack, await api_token(stack.sessions, roster), body)
    assert answer.status_code == 400
    assert answer.json()["error"] == error and answer.json()["field"] == field
    assert reason in answer.json()["reason"]
    assert await _count(stack, Notice) == 0
    assert [r["error"] for r in await _refusals(stack)] == [error]


async def test_a_body_that_is_not_json_is_400(stack: Stack, roster: Roster) -> None:
    answer = await _post(stack, await api_token(stack.sessions, roster), content=b"{orgs: C01",
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "bad_json", "reason": "请求内容不是有效的 JSON", "field": None}


async def test_a_body_over_64_kib_is_413(stack: Stack, roster: Roster) -> None:
    answer = await _post(stack, await api_token(stack.sessions, roster), content=b" " * (64 * 1024 + 1),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"
    assert [r["error"] for r in await _refusals(stack)] == ["too_large"]


async def test_missing_wrong_or_revoked_tokens_are_401(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    missing = await _post(stack, None, _notice())
    wrong = await _post(stack, token + "x", _notice())
    async with stack.sessions() as s:
        row = (await s.exec(select(ApiToken))).one()
        await revoke_token(session=s, token_id=row.id)  # type: ignore[arg-type]
        await s.commit()
    revoked = await _post(stack, token, _notice())

    assert [a.status_code for a in (missing, wrong, revoked)] == [401, 401, 401]
    assert missing.json()["reason"].startswith("缺少访问令牌")
    assert wrong.json()["reason"] == revoked.json()["reason"] == "访问令牌无效或已撤销"
    assert revoked.headers["WWW-Authenticate"] == "Bearer"
    assert [r["error"] for r in await _refusals(stack)] == ["missing_token", "bad_token", "bad_token"]
    assert await _count(stack, Notice) == 0


async def test_an_organisation_outside_the_tokens_subtree_is_403(stack: Stack, roster: Roster) -> None:
    answer = await _post(stack, await api_token(stack.sessions, roster), _notice(orgs=["C01", "C02"]))
    assert answer.status_code == 403
    assert answer.json()["error"] == "out_of_scope"
    assert answer.json()["reason"] == "和平社区不在您的管理范围内"
    assert await _count(stack, Notice) == 0
    assert len(await _refusals(stack)) == 1


async def test_a_token_whose_secretary_lost_the_role_is_403(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    async with stack.sessions() as s:
        await s.exec(delete(Role).where(Role.person_id == roster.people["wang"].id))  # type: ignore[call-overload]
        await s.commit()
    answer = await _post(stack, token, _notice())
    assert answer.status_code == 403
    assert answer.json()["error"] == "no_role" and "王书记" not in answer.json()["reason"]
    assert "阳光社区" in answer.json()["reason"]
    assert len(await _refusals(stack)) == 1


async def test_the_progress_of_another_organisations_notice_is_403(stack: Stack, roster: Roster) -> None:
    sent = await _post(stack, await api_token(stack.sessions, roster, "C02", "he"), _notice(orgs=["C02"]))
    assert sent.status_code == 201
    async with stack.http(headers={"Authorization": f"Bearer {await api_token(stack.sessions, roster)}"}) as client:
        theirs = await client.get(f"/api/notices/{sent.json()['id']}")
        missing = await client.get("/api/notices/999")
    assert theirs.status_code == missing.status_code == 403
    assert theirs.json()["error"] == "out_of_scope"
    assert len(await _refusals(stack)) == 2


async def test_a_near_duplicate_is_409_naming_the_earlier_notice_unless_forced(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    first = (await _post(stack, token, _notice())).json()

    again = await _post(stack, token, _notice(orgs=["B01"], text=TEXT.replace("，", " ") + "！"))
    assert again.status_code == 409
    assert again.json()["error"] == "near_duplicate"
    assert again.json()["earlier"]["id"] == first["id"]
    assert f"24小时内已向相同组织发过相似通知（第 {first['id']} 号，今天 " in again.json()["reason"]

    forced = await _post(stack, token, _notice(orgs=["B01"], force=True))
    assert forced.status_code == 201
    assert await _count(stack, Notice) == 2
    assert [r["error"] for r in await _refusals(stack)] == ["near_duplicate"]


async def test_a_repeat_with_the_same_idempotency_key_returns_the_first_answer(stack: Stack, roster: Roster) -> None:
    token = await api_token(stack.sessions, roster)
    key = {"Idempotency-Key": "oa-2026-000123"}
    first = await _post(stack, token, _notice(), headers=dict(key))
    repeat = await _post(stack, token, _notice(), headers=dict(key))
    other_key = await _post(stack, token, _notice(force=True), headers={"Idempotency-Key": "oa-2026-000124"})

    assert first.status_code == repeat.status_code == 201
    assert repeat.json() == first.json()
    assert other_key.json()["id"] != first.json()["id"]
    assert await _count(stack, Notice) == 2
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.api") == 2


async def test_a_retry_overtaking_its_first_attempt_sends_once(stack: Stack, roster: Roster) -> None:
    """The office system times out and retries while the first request is still running: five
    requests with one Idempotency-Key at once write one notice, and all get its answer."""
    token = await api_token(stack.sessions, roster)
    key = {"Idempotency-Key": "oa-2026-000125"}

    answers = await asyncio.gather(*(_post(stack, token, _notice(), headers=dict(key)) for _ in range(5)))

    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert await _count(stack, Notice) == 1
    assert await _count(stack, AuditEntry, AuditEntry.action == "notice.api") == 1


async def test_a_token_issued_with_the_cli_works_until_it_is_revoked(
    stack: Stack, roster: Roster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", stack.settings.database_url)

    async def cli(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))  # the CLI runs its own event loop

    assert await cli("api-token", "create", "--org", "C01", "--as", "13900000001", "--name", "区委办公室 OA") == 0
    out = capsys.readouterr().out
    plaintext = out.strip().splitlines()[-1]
    async with stack.sessions() as s:
        row = (await s.exec(select(ApiToken))).one()
    assert "令牌只显示这一次" in out and row.token_sha256 == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (await _post(stack, plaintext, _notice())).status_code == 201

    assert await cli("api-token", "list") == 0
    assert "C01 阳光社区\t区委办公室 OA\t代表 王书记" in capsys.readouterr().out
    assert await cli("api-token", "revoke", str(row.id)) == 0
    assert await cli("api-token", "list") == 0
    assert "已撤销" in capsys.readouterr().out
    assert (await _post(stack, plaintext, _notice(force=True))).status_code == 401


@pytest.mark.parametrize(
    ("org", "phone", "reason"),
    [
        ("C01", "13900000002", "李党员不是阳光社区（或其上级）的书记、副书记或管理员，不能代表它发通知"),
        ("C02", "13900000001", "王书记不是和平社区（或其上级）的书记、副书记或管理员，不能代表它发通知"),
        ("S01", "13900000001", "王书记不是朝阳街道（或其上级）的书记、副书记或管理员，不能代表它发通知"),
        ("X99", "13900000001", "没有编码为 X99 的组织"),
    ],
)
async def test_a_token_is_only_issued_for_a_secretary_covering_the_organisation(
    stack: Stack, roster: Roster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    org: str, phone: str, reason: str,
) -> None:
    monkeypatch.setenv("GRASSROOTS_DATABASE_URL", stack.settings.database_url)
    argv = ["api-token", "create", "--org", org, "--as", phone, "--name", "OA"]
    assert await asyncio.to_thread(main, argv) == 1
    assert capsys.readouterr().err.strip() == reason
    assert await _count(stack, ApiToken) == 0
