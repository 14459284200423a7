from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receiver(stack) -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()
