"""No secret the API hands out is kept in the request log or its HAR: a HAR is a file
people attach to bug reports and turn into load scripts."""

from __future__ import annotations

import json

from sandbox.requests.redaction import redact
from tests.helpers import new_merchant


async def test_webhook_secrets_are_redacted_in_the_log_and_the_har(merchant):
    created = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).json()
    rotated = (await merchant.post(f"/webhook-endpoints/{created['id']}/rotate-secret",
                                   {"grace_period_seconds": 0})).json()
    secrets_shown = [created["secret"], rotated["secret"]]
    assert all(s.startswith("whsec_") for s in secrets_shown)

    logged = (await merchant.get("/sandbox/requests", params={"method": "POST"})).json()["data"]
    har = (await merchant.get("/sandbox/requests.har", params={"method": "POST"})).text
    one = (await merchant.get(f"/sandbox/requests/{logged[0]['id']}")).text
    for text in (json.dumps(logged), har, one):
        assert not any(s in text for s in secrets_shown)
        assert not any(s.removeprefix("whsec_") in text for s in secrets_shown)
    # Shown as redacted, and the body is still the JSON the client got.
    bodies = [json.loads(e["response_body"]) for e in logged]
    assert [b["secret"] for b in bodies] == ["whsec_[redacted]", "whsec_[redacted]"]
    assert [b["id"] for b in bodies] == [created["id"], created["id"]]
    entries = json.loads(har)["log"]["entries"]
    assert [json.loads(e["response"]["content"]["text"])["secret"] for e in entries] == ["whsec_[redacted]"] * 2


async def test_a_merchant_key_made_by_an_admin_stays_out_of_its_log(stack):
    api, _ = await new_merchant(stack)
    try:
        assert (await api.get("/balance")).status_code == 200
        everything = (await api.get("/sandbox/requests")).text + (await api.get("/sandbox/requests.har")).text
    finally:
        await api.aclose()
    assert api.key is not None
    # The part after the prefix is the secret (its random letters may hold a "_" too).
    assert api.key.startswith("sk_test_") and api.key.removeprefix("sk_test_") not in everything


def test_redaction_finds_secrets_by_shape_wherever_they_stand():
    body = (b'{"a":"sk_test_AbC-_1","b":["whsec_dGVzdA+/=="],"c":"whpk_public","d":"ask_test_x",'
            b'"e":"whsec_ab\\/cd"}')
    assert json.loads(redact(body) or b"") == {"a": "sk_test_[redacted]", "b": ["whsec_[redacted]"], "c": "whpk_public",
                                        "d": "ask_test_x", "e": "whsec_[redacted]"}
    assert redact(b"api_key=sk_admin_xyz&next=%2F") == b"api_key=sk_admin_[redacted]&next=%2F"
    assert redact(None) is None and redact(b'{"id":"po_1"}') == b'{"id":"po_1"}'
