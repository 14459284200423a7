"""A worker stopped while 100 webhook deliveries hang on slow receivers stops cleanly:
no traceback and no error in its log, one line saying what it handed back, and each of
the 100 deliveries made again at once after the restart (handed back, not left to a lease
that runs out minutes later). More deliveries wait in the database meanwhile, so the pool
has a backlog to refill from as its attempts end (the old code started attempts from it
after the stop had begun, on a closed HTTP session). Real processes on their own
PostgreSQL and Redis, real receivers on real sockets; `sandbox worker` stopped alone and
`sandbox up` stopped whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import time
from collections.abc import Awaitable, Callable

import httpx
import psutil
import pytest

from sandbox.client.blocking import tls
from tests.helpers import wait_for
from tests.process.conftest import DEMO_KEY, Up, scratch_dir
from tests.process.services import Services, create_payouts, running_services
from tests.webhooks.holding import Holding

RECEIVERS = 4
PAYOUTS = 30  # x RECEIVERS endpoints: 120 deliveries, of which the pool takes IN_FLIGHT
IN_FLIGHT = 100
# Every delivery the pool holds is on the wire at once, and none is cut off by its
# deadline while the test runs: a lease then lasts 2 x 120 + 60 s, far beyond the wait
# for the retries below.
SETTINGS = {
    "SANDBOX_WEBHOOK_CONCURRENCY": str(IN_FLIGHT),
    "SANDBOX_WEBHOOK_PER_ORIGIN": str(PAYOUTS),
    "SANDBOX_WEBHOOK_PER_MERCHANT": str(IN_FLIGHT),
    "SANDBOX_WEBHOOK_LINE_PER_MERCHANT": str(IN_FLIGHT),
    "SANDBOX_WEBHOOK_TIMEOUT_S": "120",
}
RETRIED_WITHIN_S = 60.0


def problems(log: str, levels: tuple[str, ...] = ("warning", "error", "critical")) -> list[str]:
    """Lines of the children's JSON logs at `levels` or carrying a traceback, and any other
    line that shows one. A stop that goes as it should warns of nothing."""
    found = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            if "Traceback" in line or "Error" in line:
                found.append(line)
            continue
        if record.get("level") in levels or "exc" in record or "Traceback" in line:
            found.append(line)
    return found


async def until(predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.05)


async def stop_and_restart(api: httpx.AsyncClient, receivers: list[Holding], stop: Callable[[], Awaitable[str]],
                           restart: Callable[[], Awaitable[None]], redis_gone: bool = False) -> None:
    """`stop`: stops the worker and answers what it logged meanwhile; `restart` starts it
    again. `redis_gone`: Redis stops first, and the worker says so in warnings."""
    for receiver in receivers:
        r = await api.post("/webhook-endpoints", json={"url": receiver.url(), "events": ["payout.created"]},
                           headers={"X-Idempotency-Key": secrets.token_hex(12)})
        assert r.status_code == 201, r.text
    payouts = await create_payouts(api, ["12345678900001"] * PAYOUTS)

    async def all_final() -> bool:  # the stop then finds no payout step running, only webhooks
        for p in payouts:
            if (await api.get(f"/payouts/{p['id']}")).json()["status"] not in ("success", "failed", "returned"):
                return False
        return True

    await wait_for(all_final, timeout=90, what=f"the {PAYOUTS} payouts to reach their end")

    def on_the_wire() -> int:
        return sum(len(r.arrived) for r in receivers)

    await until(lambda: on_the_wire() >= IN_FLIGHT, 90,
                lambda: f"only {on_the_wire()} of {IN_FLIGHT} deliveries reached the receivers")
    sent_before = {(i, hook) for i, r in enumerate(receivers) for hook in r.arrived}
    assert len(sent_before) == IN_FLIGHT

    log = await stop()

    found = problems(log, ("error", "critical") if redis_gone else ("warning", "error", "critical"))
    assert found == [], "\n".join(found) + "\n--- all the stop logged:\n" + log[-8000:]
    handed = [json.loads(line) for line in log.splitlines() if "handed back" in line]
    assert len(handed) == 1, handed
    assert handed[0]["message"].startswith(f"handed back {IN_FLIGHT} webhook deliveries, each due again at once"
                                           + (" (no worker woken for them" if redis_gone else "")), handed
    assert on_the_wire() == IN_FLIGHT  # nothing was sent after the stop began

    for receiver in receivers:
        receiver.answer_all()
    await restart()
    await until(lambda: all(receivers[i].arrived[hook] >= 2 for i, hook in sent_before), RETRIED_WITHIN_S,
                lambda: f"{sum(receivers[i].arrived[h] < 2 for i, h in sent_before)} of {IN_FLIGHT} deliveries "
                        f"not made again within {RETRIED_WITHIN_S:g} s of the restart")
    await until(lambda: on_the_wire() == RECEIVERS * PAYOUTS, RETRIED_WITHIN_S,
                lambda: f"{on_the_wire()} of {RECEIVERS * PAYOUTS} deliveries made")


@pytest.fixture
async def receivers():
    started = [await Holding().start() for _ in range(RECEIVERS)]
    yield started
    for r in started:
        r.answer_all()
        await r.stop()


@pytest.fixture
def services():
    """Started outside the test's event loop (the embedded servers' start runs one of its own)."""
    with running_services(**SETTINGS) as started:
        yield started


async def test_a_worker_stopped_with_deliveries_in_flight_stops_cleanly_and_loses_none(services: Services,
                                                                                         receivers):
    async def stop() -> str:
        proc = services.procs.pop("worker0")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        return services.log("worker0")

    async def restart() -> None:
        services.start("worker0", "worker")

    api, _ = await services.new_merchant()
    async with api:
        await stop_and_restart(api, receivers, stop, restart)
    # The worker writes an attempt's outcome after its receiver has answered: the rows settle
    # a moment after the last delivery arrived, later on a busy machine. Wait for them.
    seen: dict[str, int] = {}

    async def all_recorded_as_succeeded() -> bool:
        rows = await services.sql("SELECT status, count(*) AS n FROM webhook_delivery GROUP BY status")
        seen.clear()
        seen.update({r["status"]: r["n"] for r in rows})
        return seen == {"succeeded": RECEIVERS * PAYOUTS}

    await wait_for(all_recorded_as_succeeded, timeout=RETRIED_WITHIN_S,
                   what=lambda: f"deliveries by status {seen}, expected all {RECEIVERS * PAYOUTS} succeeded")


async def test_a_worker_stopped_after_redis_still_hands_its_deliveries_back(services: Services, receivers):
    """Redis stops first (a compose stopping everything at once): the hand-back needs only
    PostgreSQL. The old worker's stop raised on the health key, never ran its shutdown,
    and left the deliveries leased for minutes."""
    async def stop() -> str:
        await asyncio.to_thread(services.stop_redis)
        proc = services.procs.pop("worker0")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        return services.log("worker0")

    async def restart() -> None:
        await asyncio.to_thread(services.start_redis)
        services.start("worker0", "worker")

    api, _ = await services.new_merchant()
    async with api:
        await stop_and_restart(api, receivers, stop, restart, redis_gone=True)


@pytest.fixture
def up_runs():
    """`sandbox up` on one data dir, started again after the stop; each stopped on the way out."""
    with scratch_dir() as path:
        runs: list[Up] = []
        try:
            yield lambda: runs.append(Up(path / "data", **SETTINGS)) or runs[-1]
        finally:
            for run in runs:
                run.close()


def ctrl_c(run: Up) -> None:
    """What a terminal's Ctrl-C does: SIGINT to every process of the foreground process
    group, `up` and whatever it started without a group of its own (the test's own
    process, in that group too, is left out)."""
    group = os.getpgid(run.proc.pid)
    up = psutil.Process(run.proc.pid)
    for proc in [up, *up.children(recursive=True)]:
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            if os.getpgid(proc.pid) == group:
                proc.send_signal(signal.SIGINT)


@pytest.mark.parametrize("stop_up", [lambda run: run.signal(signal.SIGTERM), ctrl_c], ids=["SIGTERM", "Ctrl-C"])
async def test_sandbox_up_stopped_with_deliveries_in_flight_stops_cleanly_and_loses_none(up_runs, receivers,
                                                                                         stop_up):
    """`up` stops its children first, and its embedded Redis and PostgreSQL only once the
    worker has handed its deliveries back: also when the stop is a terminal's Ctrl-C,
    which reaches every process of the terminal's foreground group at once."""
    first = up_runs()
    await asyncio.to_thread(first.wait_ready)

    async def stop() -> str:
        before = len(first.output())
        stop_up(first)
        assert await asyncio.to_thread(first.wait_exit) == 0
        return first.output()[before:]

    async def restart() -> None:
        await asyncio.to_thread(up_runs().wait_ready)

    async with httpx.AsyncClient(verify=tls(), base_url=first.base, headers={"X-API-KEY": DEMO_KEY}, timeout=60) as api:
        await stop_and_restart(api, receivers, stop, restart)
