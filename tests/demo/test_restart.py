"""Starting the demo again on the same database changes nothing that was there, and stopping it answers
pending long-polls at once."""

import asyncio
import time

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import create_app
from bot.demo.stack import demo_stack
from bot.keys import SESSIONS
from models import Identity, Membership, Organisation, Person, Role, Unit
from tests.demo.helpers import personas, say

TABLES = (Organisation, Unit, Person, Membership, Role, Identity)


async def _counts(stack) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with stack.app[SESSIONS]() as session:
        return {t.__name__: (await session.exec(select(func.count()).select_from(t))).one() for t in TABLES}


async def test_a_second_start_on_the_same_database_seeds_nothing_new(engine: AsyncEngine, database_url: str) -> None:
    async with demo_stack(create_app=create_app, database_url=database_url, secret_key="k") as first:
        assert first.seed_report.written and first.seed_report.people.created > 60
        async with httpx.AsyncClient(base_url=first.base_url, trust_env=False, timeout=30) as client:
            listed = await personas(client)
            member = next(p for p in listed if p["invite_code"])
            assert "绑定成功" in await say(client, member, f"绑定 {member['invite_code']}")
        counts = await _counts(first)

    async with demo_stack(create_app=create_app, database_url=database_url, secret_key="k") as second:
        assert not second.seed_report.written and not second.seed_report.changed
        assert await _counts(second) == counts
        async with httpx.AsyncClient(base_url=second.base_url, trust_env=False, timeout=30) as client:
            again = {p["id"]: p for p in await personas(client)}

    stable = {p["id"] for p in listed if p["id"] != "newcomer" and not p["invite_code"]}
    assert stable <= set(again) and all(again[i]["bound"] == p["bound"] for p in listed if (i := p["id"]) in stable)
    # The member bound in the first run is no longer offered for binding; someone else is.
    assert member["id"] not in again or again[member["id"]]["bound"]
    assert [p for p in again.values() if p["invite_code"]]


async def test_stopping_answers_a_pending_long_poll_at_once(engine: AsyncEngine, database_url: str) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        async with demo_stack(create_app=create_app, database_url=database_url, secret_key="k") as demo:
            persona = demo.personas[0]
            waiting = asyncio.create_task(
                client.get(f"{demo.base_url}/demo/api/inbox", params={"persona": persona.id, "wait": 25})
            )
            await asyncio.sleep(0.3)
            started = time.monotonic()
        stopped = time.monotonic() - started
        response = await waiting

    assert stopped < 3 and response.status_code == 200 and response.json()["messages"] == []
