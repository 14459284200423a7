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


QUICK_FLOOR_S = "0.05"


@pytest.fixture
def quick_retries(monkeypatch) -> None:
    """Retries 50 ms apart, not the 1 s floor's (SANDBOX_WEBHOOK_RETRY_FLOOR_S): for a test
    that awaits a delivery running out of its eight attempts, or retried, and asserts what
    each attempt stored, not when. The floor itself is tested at its default
    (tests/webhooks/delivery/test_retries.py::test_a_receiver_down_for_half_a_second_still_gets_the_event,
    tests/webhooks/model/test_rules.py::test_retry_schedule_and_its_end). The worker reads
    the floor at each retry it schedules, so this holds for the in-process `worker`."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_RETRY_FLOOR_S", QUICK_FLOOR_S)
