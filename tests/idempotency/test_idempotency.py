"""Idempotency: replay, reuse with a different request, concurrent duplicates."""

import asyncio
import secrets

from sandbox import db
from sandbox.ledger.service import check_invariant
from tests.helpers import payout_body


async def test_same_key_same_request_replays(merchant):
    key = secrets.token_hex(8)
    first = await merchant.post("/payouts", payout_body(), idem=key)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # Same JSON with keys in another order and other spacing is the same request.
    again = await merchant.post("/payouts", json=None, idem=key, content=b'{"currency":"PKR", "amount": "1500.00",'
                                b'"destination": {"account_title": "Ali Raza", "account_number": "12345678900001",'
                                b'"bank_code": "HBL", "type": "bank"}}', headers={"content-type": "application/json"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    page = (await merchant.get("/payouts")).json()
    assert len(page["data"]) == 1
    assert (await merchant.get("/balance")).json()["locked"] == "1500.00"


async def test_idempotency_key_header_alias(merchant):
    key = secrets.token_hex(8)
    r1 = await merchant.http.post("/payouts", json=payout_body(), headers={"Idempotency-Key": key})
    r2 = await merchant.http.post("/payouts", json=payout_body(), headers={"Idempotency-Key": key})
    assert r1.status_code == 201 and r2.status_code == 201
    assert r2.headers["idempotent-replayed"] == "true"


async def test_same_key_different_request_is_refused(merchant):
    key = secrets.token_hex(8)
    assert (await merchant.post("/payouts", payout_body(), idem=key)).status_code == 201
    r = await merchant.post("/payouts", payout_body(amount="1600.00"), idem=key)
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    # Another path with the same key is a different request too.
    r = await merchant.post("/sandbox/topups", {"amount": "1.00"}, idem=key)
    assert r.json()["code"] == "idempotency_key_reused"
    assert (await merchant.get("/balance")).json()["locked"] == "1500.00"


async def test_keys_are_scoped_per_merchant(merchant, other_merchant):
    key = secrets.token_hex(8)
    a = await merchant.post("/payouts", payout_body(), idem=key)
    b = await other_merchant.post("/payouts", payout_body(), idem=key)
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


async def test_business_refusal_is_stored_and_replayed(merchant):
    key = secrets.token_hex(8)
    r1 = await merchant.post("/payouts", payout_body(amount="99999999.00"), idem=key)
    assert r1.status_code == 422 and r1.json()["code"] == "insufficient_funds"
    r2 = await merchant.post("/payouts", payout_body(amount="99999999.00"), idem=key)
    assert r2.status_code == 422 and r2.headers["idempotent-replayed"] == "true"


async def test_validation_refusal_is_not_stored(merchant):
    key = secrets.token_hex(8)
    bad = await merchant.post("/payouts", payout_body(amount="1.001"), idem=key)
    assert bad.status_code == 400
    good = await merchant.post("/payouts", payout_body(), idem=key)
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers


async def test_fifty_concurrent_requests_one_key(merchant):
    key = secrets.token_hex(8)
    responses = await asyncio.gather(*[merchant.post("/payouts", payout_body(), idem=key) for _ in range(50)])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    fresh = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(fresh) == 1
    for r in responses:
        if r.status_code == 201:
            assert r.json()["id"] == fresh[0].json()["id"]
        else:
            assert r.json()["code"] == "idempotency_key_in_use"
    assert len((await merchant.get("/payouts")).json()["data"]) == 1
    txs = await db.fetchval(
        "SELECT count(*) FROM ledger_transaction WHERE merchant = $1 AND kind = 'payout_created'", merchant.merchant_id
    )
    assert txs == 1
    assert await check_invariant(merchant.merchant_id) == []
    # Once the first has finished, every retry replays.
    late = await merchant.post("/payouts", payout_body(), idem=key)
    assert late.status_code == 201 and late.headers["idempotent-replayed"] == "true"


def _hide_stored_rows_from_the_claim(monkeypatch) -> None:
    """POST /payouts then runs the ordinary way (the middleware's transaction, not
    `payout_create`), and its claim finds no stored row."""
    from sandbox.idempotency import claims as idempotency
    from sandbox.idempotency import keys

    monkeypatch.setattr(idempotency, "IN_STATEMENT", "no route has this option")
    monkeypatch.setattr(keys, "CLAIM_SQL",
                        "SELECT got_lock, NULL AS request_hash FROM idempotency_claim($1, $2, $3)")


async def test_duplicate_that_missed_the_committed_key_is_undone_and_replayed(merchant, monkeypatch):
    """The claim reads the stored row under the key's lock, but a refusal is stored after
    its request gave the lock up, so a duplicate can find the key free and then taken
    when it stores its own. Forced here by hiding the stored row from the claim: the
    duplicate runs, finds the key taken when it stores its own, rolls its payout back and
    replays the first response."""
    key = secrets.token_hex(8)
    first = await merchant.post("/payouts", payout_body(), idem=key)
    assert first.status_code == 201
    _hide_stored_rows_from_the_claim(monkeypatch)
    again = await merchant.post("/payouts", payout_body(), idem=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len((await merchant.get("/payouts")).json()["data"]) == 1
    assert (await merchant.get("/balance")).json()["locked"] == "1500.00"
    assert await check_invariant(merchant.merchant_id) == []


async def test_duplicate_that_missed_the_key_and_was_refused_replays_the_first_answer(merchant, monkeypatch):
    """The same race when the duplicate's own run is refused: the first request's payout
    holds the reference, so the duplicate gets 409 duplicate_reference from the service.
    That refusal is not the answer for this key; the first request's 201 is."""
    key = secrets.token_hex(8)
    body = {**payout_body(), "reference": "race-" + key}
    first = await merchant.post("/payouts", body, idem=key)
    assert first.status_code == 201
    _hide_stored_rows_from_the_claim(monkeypatch)
    again = await merchant.post("/payouts", body, idem=key)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len((await merchant.get("/payouts")).json()["data"]) == 1
    assert await check_invariant(merchant.merchant_id) == []


async def test_expired_keys_are_pruned_by_the_worker(merchant):
    """A key past its 24 hours is deleted by the worker's cron job; a live one stays and
    still replays. (Expired rows were once kept for ever: nothing deleted them.)"""
    from worker.idempotency import prune_idempotency_keys
    from worker.main import build_worker

    assert "prune_idempotency_keys" in build_worker(shared_connections=True).functions
    old, live = secrets.token_hex(8), secrets.token_hex(8)
    for key in (old, live):
        assert (await merchant.post("/sandbox/topups", {"amount": "1.00"}, idem=key)).status_code in (200, 201)
    await db.execute("UPDATE idempotency_key SET expires_at = now() - interval '1 second'"
                     " WHERE scope = $1 AND key = $2", merchant.merchant_id, old)

    assert await prune_idempotency_keys({}) >= 1
    kept = await db.fetch("SELECT key FROM idempotency_key WHERE scope = $1", merchant.merchant_id)
    assert [r["key"] for r in kept] == [live]
    again = await merchant.post("/sandbox/topups", {"amount": "1.00"}, idem=live)
    assert again.headers["idempotent-replayed"] == "true"
