"""No API key, webhook secret, Authorization header or request body reaches the JSON
logs `sandbox api|worker` write, while keys and secrets are in use: requests with
good, wrong and admin keys, an endpoint's shown-once secret, signed deliveries."""

from __future__ import annotations

from tests.helpers import payout_body, wait_for
from tests.observability.conftest import JsonLines
from tests.webhooks.receiver import Receiver


async def test_no_key_secret_or_body_in_json_logs(merchant, admin, worker):
    import logging

    captured = JsonLines()
    logging.getLogger().addHandler(captured.handler)
    receiver = await Receiver().start()
    try:
        r = await merchant.post("/webhook-endpoints", {"url": receiver.url(), "events": ["payout.*"],
                                                       "signing": "hmac-sha256"})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        marker = "body-marker-7f3a"
        created = await merchant.post("/payouts", payout_body(description=marker),
                                      headers={"Authorization": "Bearer auth-header-secret-9b1c"})
        assert created.status_code == 201, created.text
        await merchant.post("/payouts", payout_body(amount="abc", description=marker))
        await merchant.http.get("/balance", headers={"X-API-KEY": "sk_test_wrong_key_0000000000000000"})
        await admin.post("/sandbox/merchants", {"name": "logs"})

        async def delivered():
            return len(receiver.received) >= 1

        await wait_for(delivered, 20, what="a signed delivery")
        await wait_for(lambda: _value(captured.where(logger="sandbox.http", status=201,
                                                     payout_id=created.json()["id"])), 5, what="the create line")
    finally:
        logging.getLogger().removeHandler(captured.handler)
        await receiver.stop()

    text = captured.text
    lines = captured.lines()  # every line is JSON
    assert any(line.get("merchant_id") == merchant.merchant_id for line in lines)
    for leaked in (merchant.key, admin.key, "sk_test_wrong_key_0000000000000000", secret, secret[len("whsec_"):],
                   "auth-header-secret-9b1c", marker):
        assert leaked not in text, f"{leaked[:12]}… appears in the logs"


async def _value(value):
    return value
