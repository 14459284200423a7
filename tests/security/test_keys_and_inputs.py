"""Keys, secrets and hostile input: what an attacker or a careless client would try."""

import logging
import secrets

import pytest

from sandbox import db
from sandbox.auth.keys import hash_key
from tests.helpers import payout_body, wait_for


async def test_keys_are_stored_only_as_hashes(merchant):
    rows = await db.fetch("SELECT prefix, key_hash FROM api_key WHERE merchant = $1", merchant.merchant_id)
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hash_key(merchant.key)
    dump = await db.fetchval("SELECT string_agg(t::text, ' ') FROM api_key t")
    assert merchant.key not in dump
    # The prefix alone does not authenticate.
    r = await merchant.http.get("/balance", headers={"X-API-KEY": rows[0]["prefix"]})
    assert r.status_code == 401


async def test_revoked_key_is_refused(merchant):
    assert (await merchant.get("/balance")).status_code == 200  # the key is remembered now
    # Revoked straight in the database, as an operator would: PostgreSQL notifies the API
    # process, which forgets the key (auth/cache.py) within milliseconds.
    await db.execute("UPDATE api_key SET revoked_at = now() WHERE merchant = $1", merchant.merchant_id)

    async def refused():
        r = await merchant.get("/balance")
        return r.status_code == 401 and r.json()["code"] == "unauthenticated"

    await wait_for(refused, timeout=2, what="the revoked key to be refused")


@pytest.mark.parametrize("key", ["", "x", "sk_test_" + "a" * 300, "sk_test_" + "\u00e9" * 9,
                                 "' OR 1=1 --aaaaaaaaaa", "sk_test_alpha_demo_key_000000000000000X"])
async def test_malformed_keys_are_refused(anonymous, key):
    r = await anonymous.http.get("/balance", headers={"X-API-KEY": key.encode("utf-8")})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


async def test_no_key_or_secret_in_logs(merchant, admin, worker, caplog):
    caplog.set_level(logging.DEBUG)
    await merchant.post("/payouts", payout_body())
    await merchant.post("/payouts", payout_body(amount="abc"))
    await merchant.http.get("/balance", headers={"X-API-KEY": "sk_test_wrong_key_0000000000000000"})
    await admin.post("/sandbox/merchants", {"name": "logs"})
    text = "\n".join(r.getMessage() + " " + str(r.__dict__.get("args")) for r in caplog.records)
    assert merchant.key not in text and admin.key not in text
    assert "sk_test_wrong_key_0000000000000000" not in text


@pytest.mark.parametrize("field, value", [("status", "success"), ("id", "po_mine"), ("merchant_id", "mch_other"),
                                          ("available", "5.00"), ("attempts", 0), ("psp_reference", "RAIL1")])
async def test_server_owned_fields_are_refused(merchant, field, value):
    r = await merchant.post("/payouts", {**payout_body(), field: value})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field
    assert (await merchant.get("/payouts")).json()["data"] == []


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", "'; DROP TABLE payout; --",
                                   "\u0645\u0631\u062d\u0628\u0627 \u0639\u0644\u06cc", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🙂", "a" * 500])
async def test_hostile_strings_are_stored_verbatim_and_harmless(merchant, value):
    r = await merchant.post("/payouts", payout_body(description=value, metadata={"note": value}))
    assert r.status_code == 201, r.text
    p = (await merchant.get(f"/payouts/{r.json()['id']}")).json()
    assert p["description"] == value and p["metadata"] == {"note": value}


async def test_idempotency_keys_do_not_leak_across_merchants(merchant, other_merchant):
    key = secrets.token_hex(8)
    first = await merchant.post("/payouts", payout_body(reference="secret-ref"), idem=key)
    assert first.status_code == 201
    # The other merchant's identical request with the same key is its own, not a replay.
    theirs = await other_merchant.post("/payouts", payout_body(reference="secret-ref"), idem=key)
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
