"""Fault injection, each mode observed at a real receiver. Which deliveries get a fault
is drawn from the endpoint's seed and the delivery's sequence number, so the tests can
say in advance what will happen (using the sandbox's own, public, draw function)."""

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sandbox.webhooks.model import faults as F
from tests.helpers import payout_body
from tests.webhooks.helpers import arrivals, deliveries, delivery_settled, endpoint, events_of, payout_in
from tests.webhooks.verify import verifies, verify


async def one_payout(api, account="12345678900001", final="success") -> tuple[dict, list[dict]]:
    p = (await api.post("/payouts", payout_body(account=account))).json()
    done = await payout_in(api, p["id"], {final})
    return done, await events_of(api, p["id"])


async def test_duplicate(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.created"], faults={"duplicate_rate": 1})
    _, events = await one_payout(merchant)
    await arrivals(receiver, 2)
    first, second = receiver.received
    assert first.webhook_id == second.webhook_id == events[0]["id"]
    assert first.body == second.body and first.headers["webhook-signature"] == second.headers["webhook-signature"]
    verify(ep, first)
    done = await delivery_settled(merchant, events[0]["id"], "succeeded")
    assert done["attempt_count"] == 1
    assert [(a["number"], a["faults"]) for a in done["attempts"]] == [(1, []), (1, ["duplicate"])]


async def test_fail_first_attempts(quick_retries, merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.created"], faults={"fail_first_attempts": 2})
    _, events = await one_payout(merchant)
    done = await delivery_settled(merchant, events[0]["id"], "succeeded")
    assert done["attempt_count"] == 3
    assert [(a["status_code"], a["faults"]) for a in done["attempts"]] == [
        (200, ["fail_first"]), (200, ["fail_first"]), (200, [])]
    assert "fault injection" in done["attempts"][0]["error"] and done["attempts"][2]["error"] is None
    assert receiver.ids() == [events[0]["id"]] * 3


def _seed_with_some_wrong_signatures(rate: float, seqs: range, attempts: int = 8) -> int:
    """A seed where each delivery gets at least one wrong and at least one right attempt."""
    for seed in range(1000):
        plans = [[F.WRONG_SIGNATURE in F.for_attempt(F.Faults(seed=seed, wrong_signature_rate=rate), s, a)
                  for a in range(1, attempts + 1)] for s in seqs]
        if all(any(p) and not all(p) and p[0] for p in plans):
            return seed
    raise AssertionError("no seed")


async def test_wrong_signature_then_retried(quick_retries, merchant, worker, receiver):
    seed = _seed_with_some_wrong_signatures(0.5, range(1, 4))
    holder = {}

    def verifying(got):  # an integrator's receiver: refuse what does not verify
        return (200, {}, b"ok") if verifies(holder["ep"], got) else (401, {}, b"bad signature")

    receiver.responder = verifying
    holder["ep"] = ep = await endpoint(merchant, receiver, faults={"seed": seed, "wrong_signature_rate": 0.5})
    _, events = await one_payout(merchant)
    for seq, event in enumerate(events, start=1):
        done = await delivery_settled(merchant, event["id"], "succeeded")
        plan = [F.WRONG_SIGNATURE in F.for_attempt(F.Faults(seed=seed, wrong_signature_rate=0.5), seq, a)
                for a in range(1, done["attempt_count"] + 1)]
        assert plan == [True] * (len(plan) - 1) + [False], (seq, plan)
        assert [a["status_code"] for a in done["attempts"]] == [401] * (len(plan) - 1) + [200]
        assert [a["faults"] for a in done["attempts"]][:-1] == [["wrong_signature"]] * (len(plan) - 1)
    accepted = [got for got in receiver.received if verifies(ep, got)]
    assert sorted(g.webhook_id for g in accepted) == sorted(e["id"] for e in events)
    assert len(receiver.received) > len(accepted)


async def test_wrong_signature_ed25519(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.created"], signing="ed25519",
                        faults={"wrong_signature_rate": 1})
    await one_payout(merchant)
    await arrivals(receiver, 1)
    assert receiver.received[0].headers["webhook-signature"].startswith("v1a,")
    assert not verifies(ep, receiver.received[0])


async def test_stale_timestamp(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.created"], faults={"stale_timestamp_rate": 1})
    _, events = await one_payout(merchant)
    await arrivals(receiver, 1)
    got = receiver.received[0]
    stamp = int(got.headers["webhook-timestamp"])
    assert 590 <= got.arrived - stamp <= 620
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(ep, got)
    # Correctly signed for the stale timestamp: only the age gives it away.
    expected = Webhook(ep["secret"]).sign(got.webhook_id, datetime.fromtimestamp(stamp, tz=UTC), got.body.decode())
    assert got.headers["webhook-signature"] == expected
    done = await delivery_settled(merchant, events[0]["id"])
    assert done["attempts"][0]["faults"] == ["stale_timestamp"] and done["attempts"][0]["webhook_timestamp"] == stamp


async def test_delay(merchant, worker, receiver):
    await endpoint(merchant, receiver, events=["payout.created"], faults={"delay_ms": 700})
    _, events = await one_payout(merchant)
    await arrivals(receiver, 1)
    created = datetime.fromisoformat(events[0]["created_at"]).timestamp()
    assert receiver.received[0].arrived - created >= 0.7


def _seed_reversing(window_ms: int, count: int, gap_ms: int) -> int:
    for seed in range(10_000):
        holds = [F.hold(F.Faults(seed=seed, reorder_window_ms=window_ms), s).total_seconds() * 1000
                 for s in range(1, count + 1)]
        if all(a - b >= gap_ms for a, b in zip(holds, holds[1:], strict=False)):
            return seed
    raise AssertionError("no seed")


async def test_out_of_order(merchant, worker, receiver):
    seed = _seed_reversing(3000, 3, 700)
    await endpoint(merchant, receiver, faults={"seed": seed, "reorder_window_ms": 3000})
    _, events = await one_payout(merchant)
    await arrivals(receiver, 3)
    assert [json.loads(g.body)["type"] for g in receiver.received] == [
        "payout.success", "payout.processing", "payout.created"]
    assert [e["type"] for e in events] == ["payout.created", "payout.processing", "payout.success"]


async def test_same_seed_same_faults(merchant, worker, receiver):
    faults = {"seed": 11, "duplicate_rate": 0.5}
    a = await endpoint(merchant, receiver, path="/a", faults=faults)
    b = await endpoint(merchant, receiver, path="/b", faults=faults)
    p = (await merchant.post("/payouts", payout_body(account="12345678900003"))).json()
    await payout_in(merchant, p["id"], {"failed"})
    events = await events_of(merchant, p["id"])
    planned = {e["id"]: F.DUPLICATE in F.for_attempt(F.Faults(**faults), seq, 1)
               for seq, e in enumerate(events, start=1)}
    assert any(planned.values()) and not all(planned.values())  # seed 11 mixes both
    await arrivals(receiver, 3 * 2 + 2 * sum(planned.values()))
    for path in ("/a", "/b"):
        copies = Counter(g.webhook_id for g in receiver.received if g.path == path)
        assert {i: n == 2 for i, n in copies.items()} == planned, path
    for e in events:
        found = await deliveries(merchant, e["id"])
        assert {d["endpoint_id"] for d in found} == {a["id"], b["id"]}
