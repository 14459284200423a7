"""`sandbox listen`: a receiver no endpoint URL names (the sandbox is never told where it
is) gets every delivery through the listener, signed as a URL endpoint's are, and the
delivery log records each as it records a URL endpoint's."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tests.webhooks.listen.helpers import event_ids, listening, make_payouts, settled
from tests.webhooks.receiver import Receiver
from tests.webhooks.verify import verify

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def receiver():
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_every_delivery_reaches_the_receiver_signed(stack, merchant, receiver) -> None:
    async with listening(stack.base_url, merchant.key, receiver.url()) as opened:
        assert opened["secret"].startswith("whsec_")
        endpoint = opened["endpoint"]
        assert endpoint["kind"] == "listener" and endpoint["url"] == f"listener://{endpoint['id']}"
        payouts = await make_payouts(merchant, 3)
        await settled(merchant, payouts)
        expected = await event_ids(merchant)
        await wait_for(lambda: _has(receiver, expected), timeout=30, what="every event at the receiver")
        for got in receiver.received:
            verify({"signing": "hmac-sha256", "secret": opened["secret"]}, got)
        # The delivery log records the receiver's answer, as for a URL endpoint.
        some = next(iter(expected))

        async def recorded() -> dict | None:
            ds = (await merchant.get(f"/events/{some}/deliveries")).json()["data"]
            return next((d for d in ds if d["endpoint_id"] == endpoint["id"] and d["status"] != "pending"), None)

        delivery = await wait_for(recorded, timeout=20, what="the delivery's answer recorded")
        assert delivery["status"] == "succeeded" and delivery["attempts"][0]["status_code"] == 200
        assert delivery["attempts"][0]["response_excerpt"] == "ok"
        assert any("--> 200" in line for line in opened["lines"])
    listed = (await merchant.get("/webhook-endpoints")).json()["data"]
    assert [e["kind"] for e in listed] == ["listener"]


async def _has(receiver: Receiver, expected: set[str]) -> bool:
    return expected <= set(receiver.ids())


async def test_events_made_while_nobody_listens_come_on_connect(stack, merchant, receiver) -> None:
    opened = (await merchant.post("/webhook-listeners", json={"name": "ci"})).json()
    payouts = await make_payouts(merchant, 2)
    await settled(merchant, payouts)
    expected = await event_ids(merchant)

    async def parked() -> bool:  # attempted by nobody: no attempt recorded, none failed
        for event_id in expected:
            ds = (await merchant.get(f"/events/{event_id}/deliveries")).json()["data"]
            if not ds or ds[0]["attempt_count"] != 0 or ds[0]["status"] != "pending":
                return False
        return True

    await wait_for(parked, timeout=20, what="the deliveries to wait for a listener")
    assert receiver.received == []
    async with listening(stack.base_url, merchant.key, receiver.url(), name="ci") as again:
        assert again["secret"] == opened["secret"] and again["created"] is False
        await wait_for(lambda: _has(receiver, expected), timeout=30, what="the waiting events, on connect")
