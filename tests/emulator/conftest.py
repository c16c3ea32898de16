from collections.abc import AsyncIterator

import httpx
import pytest

from emulator import Emulator, EmulatorConfig
from tests.emulator.fake_service import FakeService


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emulator = Emulator(EmulatorConfig())
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
async def service(emulator: Emulator) -> AsyncIterator[FakeService]:
    service = FakeService(emulator.config)
    await service.start()
    yield service
    await service.stop()
