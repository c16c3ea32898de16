"""Small helpers shared by the demo tests."""

from typing import Any

import httpx


async def personas(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/demo/api/personas")
    assert response.status_code == 200
    return response.json()["personas"]


async def persona_where(client: httpx.AsyncClient, **wanted: Any) -> dict[str, Any]:
    found = [p for p in await personas(client) if all(p.get(k) == v for k, v in wanted.items())]
    assert found, f"no persona with {wanted}"
    return found[0]


async def send(client: httpx.AsyncClient, persona: dict[str, Any] | str, **body: Any) -> httpx.Response:
    persona_id = persona if isinstance(persona, str) else persona["id"]
    return await client.post("/demo/api/send", json={"persona": persona_id, **body})


async def say(client: httpx.AsyncClient, persona: dict[str, Any], text: str) -> str:
    response = await send(client, persona, text=text)
    assert response.status_code == 200, response.text
    reply = response.json()["reply"]
    assert isinstance(reply, str)
    return reply


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
