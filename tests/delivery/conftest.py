"""Delivery tests that drive their own dispatchers (each one like another `serve` process)."""

from collections.abc import AsyncIterator

import pytest

from tests.seed import Roster, seed_small_roster
from tests.stack import Stack, running_stack


@pytest.fixture
async def quiet_stack(database_url: str) -> AsyncIterator[Stack]:
    """The stack whose own background dispatcher rests, so the test's dispatchers do the sending."""
    async with running_stack(database_url, dispatch_idle=60) as running:
        yield running


@pytest.fixture
async def people(quiet_stack: Stack) -> Roster:
    return await seed_small_roster(quiet_stack.sessions)
