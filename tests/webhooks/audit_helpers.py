from __future__ import annotations

from tests.helpers import Api
from tests.webhooks.receiver import Receiver

ALL_CASES = ["valid_event", "duplicate_delivery", "unseen_event_type", "tampered_body", "wrong_secret", "unsigned",
             "stale_timestamp", "future_timestamp", "key_rotation", "forged_signatures", "valid_signature_first",
             "many_forged_signatures", "valid_signature_middle", "other_scheme", "forged_unseen_type",
             "forged_large_body", "altered_signature", "truncated_signature", "forged_repeat_id",
             "forged_capitalised_headers"]
FORGERIES = {"tampered_body", "wrong_secret", "unsigned", "stale_timestamp", "future_timestamp", "forged_signatures",
             "many_forged_signatures", "other_scheme", "forged_unseen_type", "forged_large_body",
             "altered_signature", "truncated_signature", "forged_repeat_id", "forged_capitalised_headers"}
TIMESTAMPS = {"stale_timestamp", "future_timestamp"}


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
