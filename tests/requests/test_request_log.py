"""The request log: what a merchant's requests were, as GET /sandbox/requests shows them."""

from __future__ import annotations

import secrets

from sandbox import db
from tests.helpers import payout_body


async def _log(api, **params) -> list[dict]:
    r = await api.get("/sandbox/requests", params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_requests_are_logged_newest_first_with_their_key_outcome_and_bodies(merchant):
    key = secrets.token_hex(8)
    created = await merchant.post("/payouts", payout_body(reference="log-1"), idem=key,
                                  headers={"X-Request-ID": "req-first"})
    assert created.status_code == 201
    payout_id = created.json()["id"]
    again = await merchant.post("/payouts", payout_body(reference="log-1"), idem=key)
    assert again.headers["idempotent-replayed"] == "true"
    conflict = await merchant.post("/payouts", payout_body(amount="9.00", reference="log-1"), idem=key)
    assert conflict.status_code == 422
    read = await merchant.get(f"/payouts/{payout_id}")
    assert read.status_code == 200

    entries = await _log(merchant)
    assert [e["method"] for e in entries[:4]] == ["GET", "POST", "POST", "POST"]
    get_entry, conflict_entry, replay_entry, first_entry = entries[:4]
    assert first_entry["id"] == "req-first"
    assert first_entry["idempotency_key"] == key and first_entry["idempotency_outcome"] == "first"
    assert first_entry["route"] == "/api/v1/payouts" and first_entry["status"] == 201
    assert first_entry["object_ids"] == [payout_id]
    assert '"log-1"' in first_entry["request_body"] and payout_id in first_entry["response_body"]
    assert replay_entry["idempotency_outcome"] == "replayed" and replay_entry["object_ids"] == [payout_id]
    assert conflict_entry["idempotency_outcome"] == "conflict" and conflict_entry["status"] == 422
    assert get_entry["idempotency_outcome"] is None and get_entry["object_ids"] == [payout_id]
    assert get_entry["route"] == "/api/v1/payouts/{payout_id}"
    # The API key is never stored, in any header or column.
    assert all(h["name"].lower() != "x-api-key" for e in entries for h in e["request_headers"])
    assert {"name": "x-idempotency-key", "value": key} in first_entry["request_headers"]
    # Each entry keeps the answer's headers as the client got them, RateLimit headers
    # included, whether it was written with the payout, after a replay, a refusal or a read.
    for e, answer in ((first_entry, created), (replay_entry, again), (conflict_entry, conflict), (get_entry, read)):
        logged = {h["name"].lower(): h["value"] for h in e["response_headers"]}
        assert logged["ratelimit-limit"] == answer.headers["ratelimit-limit"], e
        assert logged["content-type"] == answer.headers["content-type"], e
    rows = await db.fetch("SELECT * FROM request_log WHERE merchant = $1", merchant.merchant_id)
    assert rows and not any(merchant.key in str(dict(r)) for r in rows)

    one = (await merchant.get("/sandbox/requests/req-first")).json()
    assert one == first_entry
    assert (await merchant.get("/sandbox/requests/req-nope")).json()["code"] == "not_found"


async def test_filters_and_paging(merchant):
    key = secrets.token_hex(8)
    for _n in range(3):
        await merchant.get("/balance")
    payout_id = (await merchant.post("/payouts", payout_body(), idem=key)).json()["id"]
    await merchant.get(f"/payouts/{payout_id}")
    assert [e["idempotency_key"] for e in await _log(merchant, idempotency_key=key)] == [key]
    assert [e["method"] for e in await _log(merchant, object_id=payout_id)] == ["GET", "POST"]
    assert {e["method"] for e in await _log(merchant, method="GET")} == {"GET"}
    assert len(await _log(merchant, path="/api/v1/balance")) == 3
    assert [e["status"] for e in await _log(merchant, status=201)] == [201]
    assert await _log(merchant, since="2999-01-01T00:00:00Z") == []
    first = (await merchant.get("/sandbox/requests", params={"limit": 2})).json()
    assert first["has_more"] and len(first["data"]) == 2
    rest = (await merchant.get("/sandbox/requests", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert {e["id"] for e in rest["data"]}.isdisjoint({e["id"] for e in first["data"]}) and rest["data"]
    assert (await merchant.get("/sandbox/requests", params={"status": "abc"})).status_code == 400


async def test_other_merchants_requests_are_not_shown(merchant, other_merchant):
    await other_merchant.get("/balance", headers={"X-Request-ID": "req-other"})
    assert (await merchant.get("/sandbox/requests/req-other")).status_code == 404
    assert all(e["id"] != "req-other" for e in await _log(merchant))


async def test_a_mutating_requests_entry_commits_with_its_effect(merchant):
    """The entry is written in the effect's transaction: when the transaction is rolled
    back after the handler ran (the commit fails), neither the effect nor the entry stays."""
    created = (await merchant.post("/payouts", payout_body())).json()
    request_id = f"req-cancel-{secrets.token_hex(4)}"  # one no other test's entry has
    r = await merchant.post(f"/payouts/{created['id']}/cancel", {"reason": "changed my mind"},
                            headers={"X-Request-ID": request_id})
    assert r.status_code == 200
    row = await db.fetchrow("SELECT status, object_ids, idempotency_outcome FROM request_log WHERE id = $1",
                            request_id)
    assert row["status"] == 200 and list(row["object_ids"]) == [created["id"]]
    assert row["idempotency_outcome"] == "first"


async def test_a_payouts_entry_is_written_by_the_one_call_that_makes_the_payout(merchant, monkeypatch):
    """POST /payouts' entry commits with the payout, in its one database call: with the
    batches written after the answers switched off, it is there all the same; the calls
    that made no payout (a replay, a refusal) are written on their own before their answers
    leave (a next read may be answered by another API process), never by a batch."""
    from sandbox.requests.writer import WRITER

    monkeypatch.setattr(WRITER, "later", lambda entry: None)
    key = secrets.token_hex(8)
    created = await merchant.post("/payouts", payout_body(reference="one-call"), idem=key,
                                  headers={"X-Request-ID": "req-one-call"})
    assert created.status_code == 201
    assert (await merchant.post("/payouts", payout_body(reference="one-call"), idem=key)).status_code == 201
    refused = await merchant.post("/payouts", payout_body(amount="99999999.00"))
    assert refused.json()["code"] == "insufficient_funds"

    rows = await db.fetch("SELECT * FROM request_log WHERE merchant = $1 ORDER BY number", merchant.merchant_id)
    made = created.json()["id"]
    assert [(r["status"], r["idempotency_key"], r["idempotency_outcome"], list(r["object_ids"])) for r in rows] == [
        (201, key, "first", [made]), (201, key, "replayed", [made]),
        (refused.status_code, rows[2]["idempotency_key"], "first", [])]
    assert rows[0]["id"] == "req-one-call" and rows[2]["id"] == refused.headers["X-Request-ID"]
    row = rows[0]
    assert bytes(row["response_body"]) == created.content and b'"one-call"' in bytes(row["request_body"])
    assert row["route"] == "/api/v1/payouts" and row["duration_ms"] > 0


async def test_retention_keeps_a_merchants_last_entries_and_drops_old_ones(merchant, other_merchant):
    from sandbox.requests import retention
    from sandbox.requests.writer import WRITER

    for _ in range(5):
        await merchant.get("/balance")
    await other_merchant.get("/balance")
    await merchant.get("/sandbox/requests")
    await other_merchant.get("/sandbox/requests")
    await WRITER.flush()  # the reads' entries are written in a batch a moment after their answers
    await retention.prune(keep=3)
    assert await db.fetchval("SELECT count(*) FROM request_log WHERE merchant = $1", merchant.merchant_id) == 3
    assert await db.fetchval("SELECT count(*) FROM request_log WHERE merchant = $1", other_merchant.merchant_id) == 2
    await db.execute("UPDATE request_log SET logged_at = now() - interval '25 hours' WHERE merchant = $1",
                     other_merchant.merchant_id)
    await retention.prune(keep=3)
    assert await db.fetchval("SELECT count(*) FROM request_log WHERE merchant = $1", other_merchant.merchant_id) == 0
    assert await db.fetchval("SELECT count(*) FROM request_log WHERE merchant = $1", merchant.merchant_id) == 3
