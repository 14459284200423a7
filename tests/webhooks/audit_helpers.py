from __future__ import annotations

from tests.helpers import Api
from tests.webhooks.receiver import Receiver

TYPES_FORGED = ["forged_payout_created", "forged_payout_in_review", "forged_payout_pending",
                "forged_payout_processing", "forged_payout_retrying", "forged_payout_on_hold", "forged_payout_failed",
                "forged_payout_rejected", "forged_payout_cancelled", "forged_payout_returned",
                "forged_batch_completed", "forged_settlement_completed"]  # every type an endpoint of `*` gets
ALL_CASES = ["valid_event", "duplicate_delivery", "unseen_event_type", "tampered_body", "wrong_secret", "unsigned",
             "stale_timestamp", "future_timestamp", "timestamp_hours_old", "timestamp_hours_ahead",
             "timestamp_days_old", "timestamp_days_ahead", "key_rotation", "forged_signatures", "valid_signature_first",
             "many_forged_signatures", "valid_signature_middle", "other_scheme", "forged_unseen_type",
             "forged_large_body", "altered_signature", "truncated_signature", "forged_repeat_id",
             "forged_capitalised_headers", *TYPES_FORGED]
TIMESTAMPS = {"stale_timestamp", "future_timestamp", "timestamp_hours_old", "timestamp_hours_ahead",
              "timestamp_days_old", "timestamp_days_ahead"}
FORGERIES = {"tampered_body", "wrong_secret", "unsigned", *TIMESTAMPS, "forged_signatures",
             "many_forged_signatures", "other_scheme", "forged_unseen_type", "forged_large_body",
             "altered_signature", "truncated_signature", "forged_repeat_id", "forged_capitalised_headers",
             *TYPES_FORGED}


async def register(api: Api, receiver: Receiver, signing: str = "hmac-sha256") -> dict:
    r = await api.post("/webhook-endpoints", {"url": receiver.url(), "signing": signing})
    assert r.status_code == 201, r.text
    return r.json()


async def audit(api: Api, endpoint: dict, **params) -> dict:
    r = await api.post(f"/webhook-endpoints/{endpoint['id']}/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def failed(result: dict) -> set[str]:
    return {c["name"] for c in result["cases"] if not c["passed"]}
