"""`kill -9` of `sandbox listen` in the middle of 1,000 events, then a restart: every event
reaches the receiver at least once, none is missing (counted by id).

The events are written to the outbox as the sandbox writes them (`outbox.emit`, in
transactions of 100, as tests/webhooks/bench.py does): everything from the relay on is
what any event goes through."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import db
from sandbox.events import outbox
from tests.helpers import wait_for
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.usefixtures("worker", "database")
SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs
EVENTS = 1000
KILL_AFTER = 300  # deliveries at the receiver before the kill
PAYLOAD = {"id": "po_listen", "object": "payout", "amount": "1.00", "currency": "PKR", "status": "success"}


def start_listener(stack, key: str, forward_to: str, out: Path) -> subprocess.Popen:
    # Its lines go to a file: a pipe nobody reads fills, and the listener stops at its next line.
    with out.open("ab") as said:
        return subprocess.Popen([SANDBOX, "listen", "--forward-to", forward_to, "--url", stack.base_url, "--key", key],
                                stdout=said, stderr=subprocess.STDOUT)


async def emit(merchant_id: str, n: int) -> list[str]:
    async with db.transaction():
        return [await outbox.emit(merchant_id, "payout.success", PAYLOAD) for _ in range(n)]


async def test_kill_9_mid_stream_loses_nothing(stack, merchant, tmp_path) -> None:
    receiver = await Receiver().start()
    out = tmp_path / "listener.out"
    listener = start_listener(stack, merchant.key, receiver.url(), out)
    try:
        await wait_for(lambda: _listening(merchant), timeout=60, what="the listener endpoint")
        # 400 events, the kill once 300 have reached the receiver (the rest in flight or on
        # their way), then 600 more while nobody listens.
        expected: list[str] = []
        for _ in range(4):
            expected += await emit(merchant.merchant_id, 100)
        await wait_for(lambda: _at_least(receiver, KILL_AFTER), timeout=120, interval=0.01,
                       what=f"{KILL_AFTER} deliveries")
        os.kill(listener.pid, signal.SIGKILL)
        listener.wait()
        killed_at = len(receiver.received)
        for _ in range(EVENTS // 100 - 4):
            expected += await emit(merchant.merchant_id, 100)
        assert killed_at < EVENTS  # the kill was mid-stream
        # Deliveries due while nobody listens wait, parked, for the next listener.
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM webhook_delivery WHERE merchant = $1 AND parked",
                                           merchant.merchant_id), timeout=60, what="a delivery parked")
        listener = start_listener(stack, merchant.key, receiver.url(), out)

        async def all_there() -> bool:
            return set(expected) <= set(receiver.ids())

        try:
            await wait_for(all_there, timeout=300, interval=0.5, what="every event at the receiver")
        except AssertionError:
            missing = sorted(set(expected) - set(receiver.ids()))
            said = [(await merchant.get(f"/events/{e}/deliveries")).json()["data"] for e in missing[:3]]
            raise AssertionError(f"{len(missing)} of {EVENTS} missing; their deliveries: {said}; the listener said: "
                                 f"{out.read_text()[-2000:]}") from None
        assert len(set(expected)) == EVENTS
    finally:
        if listener.returncode is None:
            listener.terminate()
            listener.wait(10)
        await receiver.stop()


async def _listening(merchant) -> bool:
    endpoints = (await merchant.get("/webhook-endpoints")).json()["data"]
    return any(e["kind"] == "listener" for e in endpoints)


async def _at_least(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n
