"""Bad requests to the demo API get a 4xx JSON answer with a Chinese reason, never a 500."""

from typing import Any

import httpx
import pytest

from models.notice_send import MAX_TEXT
from tests.demo.helpers import has_chinese, persona_where

LONG = "长" * (MAX_TEXT + 1)  # the chat box takes what a notice may hold, no more


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"persona": "p999999", "text": "帮助"}, 404, "没有这个演示身份"),
        ({"persona": None, "text": "帮助"}, 404, "没有这个演示身份"),
        ({"persona": ["p1"], "text": "帮助"}, 404, "没有这个演示身份"),
        ({"persona": "{secretary}", "text": ""}, 400, "消息不能为空"),
        ({"persona": "{secretary}", "text": "   "}, 400, "消息不能为空"),
        ({"persona": "{secretary}"}, 400, "消息不能为空"),
        ({"persona": "{secretary}", "text": 42}, 400, "消息不能为空"),
        ({"persona": "{secretary}", "text": LONG}, 400, "消息太长"),
        ({"persona": "{secretary}", "action": "self_destruct"}, 400, "不能执行这个操作"),
        ({"persona": "{secretary}", "action": "subscribe"}, 400, "不能执行这个操作"),  # WeCom has no follow
        ({"persona": "{secretary}", "action": {"id": "scan"}}, 400, "不能执行这个操作"),
    ],
)
async def test_bad_sends_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, reason: str
) -> None:
    secretary = await persona_where(client, role="阳光社区书记")
    if body.get("persona") == "{secretary}":
        body = {**body, "persona": secretary["id"]}

    response = await client.post("/demo/api/send", json=body)

    assert response.status_code == status
    assert reason in response.json()["error"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"", {}),
        (b"not json", {}),
        (b"[1, 2]", {}),
        (b'"text"', {}),
        (b"\xff\xfe", {"Content-Type": "application/json"}),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/demo/api/send", content=content, headers=headers)
    assert response.status_code == 400 and "JSON 对象" in response.json()["error"]


async def test_an_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/demo/api/send", content=b"{" + b" " * 200_000 + b"}")
    assert response.status_code == 413 and has_chinese(response.json()["error"])


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 404),
        ({"persona": "nobody"}, 404),
        ({"persona": "{secretary}", "after": "-1"}, 400),
        ({"persona": "{secretary}", "after": "abc"}, 400),
        ({"persona": "{secretary}", "after": "1.5"}, 400),
        ({"persona": "{secretary}", "wait": "nan"}, 400),
        ({"persona": "{secretary}", "wait": "-3"}, 400),
        ({"persona": "{secretary}", "wait": "soon"}, 400),
    ],
)
async def test_bad_inbox_queries_are_refused(client: httpx.AsyncClient, params: dict[str, str], status: int) -> None:
    secretary = await persona_where(client, role="阳光社区书记")
    if params.get("persona") == "{secretary}":
        params = {**params, "persona": secretary["id"]}

    response = await client.get("/demo/api/inbox", params=params)

    assert response.status_code == status and has_chinese(response.json()["error"])


async def test_unknown_paths_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/demo/api/nothing-here")
    wrong = await client.get("/demo/api/send")
    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert has_chinese(missing.json()["error"]) and has_chinese(wrong.json()["error"])
