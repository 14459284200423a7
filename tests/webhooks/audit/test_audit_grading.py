"""The receiver audit grades real receivers (local HTTP servers): one that verifies as
Standard Webhooks asks passes every case; one that trusts everything fails each forgery
by name; one that checks the signature but not the timestamp fails exactly the two
timestamp cases. HMAC and Ed25519 endpoints alike."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sandbox import db
from tests.webhooks.audit_helpers import ALL_CASES, FORGERIES, TIMESTAMPS, audit, failed, register
from tests.webhooks.audit_receivers import ACCEPTED, REFUSED, SignatureOnly, SkipsWhenSeveral, Verifying, trusting
from tests.webhooks.receiver import Receiver


@pytest.mark.parametrize(("signing", "kind", "expected_failures"), [
    ("hmac-sha256", "verifying", set()),
    ("hmac-sha256", "trusting", FORGERIES),
    ("hmac-sha256", "signature_only", TIMESTAMPS),
    ("ed25519", "verifying", set()),
    ("ed25519", "trusting", FORGERIES),
    # Once passed 9 of 9: key_rotation was the only case with several signatures, one valid.
    ("hmac-sha256", "skips_when_several", {"forged_signatures", "many_forged_signatures"}),
    ("ed25519", "skips_when_several", {"forged_signatures", "many_forged_signatures"}),
])
async def test_the_audit_grades_the_receiver(merchant, signing, kind, expected_failures):
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver, signing)
        receiver.responder = {"verifying": Verifying, "signature_only": SignatureOnly,
                              "skips_when_several": SkipsWhenSeveral}.get(
            kind, lambda _: trusting)(endpoint)
        result = await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    assert [c["name"] for c in result["cases"]] == ALL_CASES
    assert failed(result) == expected_failures
    assert result["passed"] is (not expected_failures)
    assert (result["case_count"], result["failed_count"]) == (len(ALL_CASES), len(expected_failures))
    assert result["endpoint_id"] == endpoint["id"] and result["signing"] == signing
    assert len(receiver.received) == len(ALL_CASES)  # one request per case, nothing else
    for case in result["cases"]:
        assert case["observed_status"] in (204, 400) and case["transport_error"] is None
        assert 0 <= case["latency_ms"] < 5000
        assert case["expected"] == ("4xx" if case["name"] in FORGERIES else "2xx")
        assert case["sends"] and case["why"].endswith(".")


async def test_what_each_case_sends(merchant):
    """Signed the way real deliveries are; the duplicate repeats the first request byte
    for byte; the forgeries differ from a genuine request in one thing each."""
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        at = time.time()
        await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    got = dict(zip(ALL_CASES, receiver.received, strict=True))
    valid = got["valid_event"]
    body = json.loads(valid.body)
    assert body["id"].startswith("evt_audit_") and body["id"] == valid.webhook_id
    assert body["type"] == "payout.success" and body["data"]["id"].startswith("po_audit_")
    assert set(body) == {"id", "type", "timestamp", "sequence", "data", "request"} and body["request"] is None
    assert valid.headers["webhook-signature"].startswith("v1,")
    assert abs(int(valid.headers["webhook-timestamp"]) - at) < 60
    duplicate = got["duplicate_delivery"]
    assert (duplicate.body, {k: v for k, v in duplicate.headers.items() if k.startswith("webhook-")}) == \
        (valid.body, {k: v for k, v in valid.headers.items() if k.startswith("webhook-")})
    assert json.loads(got["unseen_event_type"].body)["type"] == "audit.unseen_type"
    assert json.loads(got["tampered_body"].body)["data"]["amount"] == "999999.00"
    assert not any(k.startswith("webhook-") for k in got["unsigned"].headers)
    stale = int(got["stale_timestamp"].headers["webhook-timestamp"])
    ahead = int(got["future_timestamp"].headers["webhook-timestamp"])
    assert abs(stale - (at - 600)) < 60 and abs(ahead - (at + 600)) < 60
    scheme = {name: [s.split(",")[0] for s in got[name].headers["webhook-signature"].split(" ")]
              for name in ALL_CASES if name != "unsigned"}
    assert scheme["key_rotation"] == scheme["forged_signatures"] == scheme["valid_signature_first"] == ["v1", "v1"]
    assert scheme["many_forged_signatures"] == scheme["valid_signature_middle"] == ["v1"] * 3
    assert scheme["other_scheme"] == ["v1a"]
    assert json.loads(got["forged_unseen_type"].body)["type"] == "audit.unseen_type"
    assert len(got["forged_large_body"].body) > 64 * 1024
    ids = {r.webhook_id for r in receiver.received if "webhook-id" in r.headers}
    # each case its own event, but the duplicate and the forged repeat repeat one and the unsigned has none
    assert len(ids) == len(ALL_CASES) - 3
    repeat = got["forged_repeat_id"]
    assert repeat.webhook_id == valid.webhook_id and repeat.body != valid.body
    assert repeat.headers["webhook-signature"] == valid.headers["webhook-signature"]


async def test_the_audit_creates_nothing_of_the_merchants(merchant, database):
    """No event, no delivery, no payout: the merchant's event log, its deliveries and its
    endpoint's delivery count are as they were."""
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    assert (await merchant.get("/events")).json()["data"] == []
    assert await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE endpoint = $1", endpoint["id"]) == 0
    assert await db.fetchval("SELECT delivery_seq FROM webhook_endpoint WHERE id = $1", endpoint["id"]) == 0
    payout_id = json.loads(receiver.received[0].body)["data"]["id"]
    assert (await merchant.get(f"/payouts/{payout_id}")).status_code == 404
    coverage = (await merchant.get("/sandbox/coverage")).json()
    assert all(e["acknowledged"] == 0 for e in coverage["event_types"])


class EitherKey:
    """The guide's receiver (`standardwebhooks`) holding some of the endpoint's secrets, the
    old one among them: it accepts a request any one of them verifies."""

    def __init__(self, *secrets: str) -> None:
        self.hooks = [Webhook(s) for s in secrets]

    def __call__(self, got):
        for hook in self.hooks:
            try:
                hook.verify(got.body, got.headers)
            except WebhookVerificationError:
                continue
            return ACCEPTED
        return REFUSED


async def test_a_receiver_with_either_key_passes_in_a_rotations_grace_period_and_the_old_one_fails_after(merchant):
    """Issue 91, case 4: an endpoint rotated with a one-hour grace period. The guide's
    receiver still holding the old secret accepts every real delivery (both keys sign), and
    so every audit case is signed as they are: it passes, as one holding the new secret
    does. Once the grace period is over, a case signed only with the retired key is sent:
    the receiver still accepting the old secret fails it, in words; the new one passes."""
    receiver = await Receiver().start()
    try:
        endpoint = await register(merchant, receiver)
        old = endpoint["secret"]
        r = await merchant.post(f"/webhook-endpoints/{endpoint['id']}/rotate-secret", {"grace_period_seconds": 3600})
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        for secrets in ((old,), (new,)):
            receiver.responder = EitherKey(*secrets)
            result = await audit(merchant, endpoint)
            assert failed(result) == set(), (secrets == (old,), failed(result))
            assert "retired_key" not in [c["name"] for c in result["cases"]]
        await db.execute("UPDATE webhook_endpoint SET previous_key_expires_at = now() - interval '1 second'"
                         " WHERE id = $1", endpoint["id"])  # the hour has passed
        receiver.responder = EitherKey(new, old)
        result = await audit(merchant, endpoint)
        assert failed(result) == {"retired_key"}
        [case] = [c for c in result["cases"] if c["name"] == "retired_key"]
        assert case["sends"] == "an event signed only with the endpoint's retired key (rotated away, its grace " \
                                "period over)"
        assert case["expected"] == "4xx" and case["observed_status"] == 204
        assert "accepts whatever the holder of the old secret signs" in case["why"]
        receiver.responder = EitherKey(new)
        assert failed(await audit(merchant, endpoint)) == set()
    finally:
        await receiver.stop()


async def test_the_forgeries_by_type_are_of_the_types_the_endpoint_subscribes_to(merchant):
    """An endpoint of `payout.*` gets a forgery of each payout event type and none of the
    batch's or the settlement's; a receiver that verifies only `payout.success` fails the
    forged `payout.returned` and `payout.failed`."""
    receiver = await Receiver().start()
    try:
        r = await merchant.post("/webhook-endpoints", {"url": receiver.url(), "events": ["payout.*"]})
        assert r.status_code == 201, r.text
        endpoint = r.json()
        verifying = Verifying(endpoint)

        def success_only(got):  # verifies payout.success, takes any other type at its word
            return verifying(got) if json.loads(got.body).get("type") == "payout.success" else ACCEPTED
        receiver.responder = success_only
        result = await audit(merchant, endpoint)
    finally:
        await receiver.stop()
    names = [c["name"] for c in result["cases"]]
    assert names == [n for n in ALL_CASES if n not in ("forged_batch_completed", "forged_settlement_completed")]
    assert {"forged_payout_returned", "forged_payout_failed"} <= failed(result)
    [returned] = [c for c in result["cases"] if c["name"] == "forged_payout_returned"]
    assert returned["sends"] == "a payout.returned event signed by a key that is not the endpoint's"
