"""No secret the API hands out is kept in the request log or its HAR: a HAR is a file
people attach to bug reports and turn into load scripts."""

from __future__ import annotations

import json
import re
import secrets
from urllib.parse import quote, unquote

from sandbox.requests.redaction import Redactor, redact
from tests.helpers import bank, new_merchant, payout_body


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


PREFIXES = ("sk_test_", "sk_admin_", "whsec_")


def every_spelling_undone(text: str) -> str:
    """`text` with JSON's and URLs' escapes undone, as often as they nest (the log's answer
    escapes a body that was escaped already): what a reader could turn back into a secret."""
    for _ in range(3):
        text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        text = re.sub(r"\\+([/\"])", r"\1", unquote(text))
    return text


def _json_escaped(secret: str) -> str:
    """Every character of the secret as JSON's `\\u` escape: `"whsec\\u005f…"` and worse."""
    return "".join(f"\\u{ord(c):04x}" if i % 2 else f"\\u{ord(c):04X}" for i, c in enumerate(secret))


async def plant_everywhere(stack, merchant) -> dict[str, str]:
    """The battery: a merchant's API key, its endpoint's current and previous signing
    secrets and the admin key, each planted raw, JSON-escaped and percent-encoded in request
    bodies (and so in the answers that echo them), custom headers, the idempotency key and
    the query string. Returns the secrets planted, by name."""
    made = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"})).json()
    rotated = (await merchant.post(f"/webhook-endpoints/{made['id']}/rotate-secret",
                                   {"grace_period_seconds": 3600})).json()
    assert merchant.key is not None
    known = {"api key": merchant.key, "previous secret": made["secret"], "secret": rotated["secret"],
             "admin key": stack.admin_key, "admin key unprefixed": stack.admin_key.removeprefix("sk_admin_")}
    for name, secret in known.items():
        spelled = {"raw": secret, "json": _json_escaped(secret), "url": quote(secret, safe="")}
        # In a body (raw and JSON-escaped; the answer echoes it decoded) ...
        for how in ("raw", "json"):
            fields = [f'"amount": "10.00", "currency": "PKR", "destination": {json.dumps(bank())}',
                      f'"description": "{name} {spelled[how]}"']
            body = "{" + ", ".join(fields) + "}"
            r = await merchant.http.post("/payouts", content=body.encode(), headers={
                "Content-Type": "application/json", "X-Idempotency-Key": secrets.token_hex(16)})
            assert r.status_code == 201 and secret in r.json()["description"], r.text
        # ... in a custom header, the idempotency key, a query string (raw and percent-encoded).
        await merchant.post("/payouts", payout_body(amount="11.00"), headers={"X-Note": f"{name} {secret}"})
        await merchant.post("/payouts", payout_body(amount="12.00"), idem=secret)
        for how in ("raw", "url"):
            await merchant.http.get(f"/payouts?limit=1&token={spelled[how]}")
            await merchant.http.get(f"/balance?token={spelled[how]}", headers={"X-Note": spelled[how]})
    return known


PLANTED_REQUESTS = 7  # requests `plant_everywhere` makes per secret


def assert_hidden(texts: dict[str, str], known: dict[str, str]) -> None:
    """No secret of `known` in any of `texts`, in any spelling."""
    for where, text in texts.items():
        undone = every_spelling_undone(text)
        for name, secret in known.items():
            part = next((secret.removeprefix(p) for p in PREFIXES if secret.startswith(p)), secret)
            assert part not in undone, f"the {name} is in {where}"


async def test_every_secret_the_sandbox_knows_is_hidden_wherever_it_is_planted(stack, merchant):
    """None of the battery's secrets is in the log, one entry or the HAR, in any spelling."""
    known = await plant_everywhere(stack, merchant)
    logged = (await merchant.get("/sandbox/requests", params={"limit": 100})).json()["data"]
    assert len(logged) >= PLANTED_REQUESTS * len(known)
    texts = {"log": json.dumps(logged), "har": (await merchant.get("/sandbox/requests.har")).text}
    texts |= {e["id"]: (await merchant.get(f"/sandbox/requests/{e['id']}")).text for e in logged}
    assert_hidden(texts, known)
    # Still the JSON the client got, with the marker where the secret was.
    echoed = [json.loads(e["response_body"])["description"] for e in logged
              if e["method"] == "POST" and e["path"] == "/api/v1/payouts" and e["status"] == 201]
    assert "secret whsec_[redacted]" in echoed and "admin key unprefixed [redacted]" in echoed


def test_a_secret_of_any_shape_is_hidden_in_every_spelling_json_and_urls_allow():
    hide = Redactor(["correct-horse/battery+staple"])  # an admin key without a known prefix
    for spelled in (b'"correct-horse/battery+staple"', b'"correct-horse\\/battery+staple"',
                    b'"\\u0063orrect\\u002Dhorse\\/battery\\u002bstaple"', b"?k=correct-horse%2Fbattery%2Bstaple"):
        assert b"[redacted]" in (hide(spelled) or b"") and b"battery" not in (hide(spelled) or b""), spelled
    assert hide(b'{"ok":"correct-horse"}') == b'{"ok":"correct-horse"}'
    # The prefix of a known kind stays, to say what was there; the shape net still works alone.
    assert Redactor(["whsec_c2VjcmV0c2VjcmV0"])(b"whsec\\u005fc2VjcmV0c2VjcmV0") == b"whsec\\u005f[redacted]"
    assert Redactor([])(b"sk_test_abcdefgh12") == b"sk_test_[redacted]"
