"""Rotating the signing key: during the grace period both keys sign, so a receiver that
still has the old secret and one that has the new one both verify."""

from datetime import datetime

import pytest

from tests.helpers import payout_body
from tests.webhooks.helpers import arrivals, endpoint
from tests.webhooks.verify import verifies

SECRET = {"hmac-sha256": "secret", "ed25519": "public_key"}


@pytest.mark.parametrize("signing", ["hmac-sha256", "ed25519"])
async def test_both_keys_sign_during_the_grace_period(merchant, worker, receiver, signing):
    ep = await endpoint(merchant, receiver, events=["payout.created"], signing=signing)
    old = ep[SECRET[signing]]
    r = await merchant.post(f"/webhook-endpoints/{ep['id']}/rotate-secret", {"grace_period_seconds": 3600})
    assert r.status_code == 200, r.text
    rotated = r.json()
    new = rotated[SECRET[signing]]
    assert new != old and new.startswith("whsec_" if signing == "hmac-sha256" else "whpk_")
    assert rotated["previous_key_expires_at"] is not None
    lasts = (datetime.fromisoformat(rotated["previous_key_expires_at"]) - datetime.fromisoformat(
        rotated["updated_at"])).total_seconds()
    assert lasts == pytest.approx(3600, abs=1)
    shown = (await merchant.get(f"/webhook-endpoints/{ep['id']}")).json()
    assert "secret" not in shown and shown["previous_key_expires_at"] == rotated["previous_key_expires_at"]

    await merchant.post("/payouts", payout_body())
    await arrivals(receiver, 1)
    got = receiver.received[0]
    versions = [s.split(",")[0] for s in got.headers["webhook-signature"].split(" ")]
    assert versions == (["v1", "v1"] if signing == "hmac-sha256" else ["v1a", "v1a"])
    assert verifies(ep, got, old) and verifies(ep, got, new)


async def test_without_grace_only_the_new_key_signs(merchant, worker, receiver):
    ep = await endpoint(merchant, receiver, events=["payout.created"])
    r = await merchant.post(f"/webhook-endpoints/{ep['id']}/rotate-secret", {"grace_period_seconds": 0})
    assert r.status_code == 200 and r.json()["previous_key_expires_at"] is None
    new = r.json()["secret"]
    await merchant.post("/payouts", payout_body())
    await arrivals(receiver, 1)
    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    assert verifies(ep, got, new) and not verifies(ep, got, ep["secret"])


async def test_rotation_input_is_checked(merchant):
    ep = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).json()
    for body in ({"grace_period_seconds": -1}, {"grace_period_seconds": 8 * 86400}, {"grace": 1}):
        r = await merchant.post(f"/webhook-endpoints/{ep['id']}/rotate-secret", body)
        assert r.status_code == 400 and r.json()["code"] == "validation_error", body
    r = await merchant.post(f"/webhook-endpoints/{ep['id']}/rotate-secret")
    assert r.status_code == 400 and r.json()["code"] == "validation_error"  # the body is `{}` at least
    r = await merchant.post(f"/webhook-endpoints/{ep['id']}/rotate-secret", {})
    assert r.status_code == 200 and r.json()["secret"] != ep["secret"]
    assert r.json()["previous_key_expires_at"] is not None  # a day by default
