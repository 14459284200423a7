from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.settings import WEBHOOK_CLIENTS
from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receiver(stack) -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture(params=WEBHOOK_CLIENTS)
def each_client(request, monkeypatch) -> str:
    """The test runs once with each delivery client (SANDBOX_WEBHOOK_CLIENT); list it
    before `worker`, whose delivery pool is built from it."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_CLIENT", request.param)
    return request.param
