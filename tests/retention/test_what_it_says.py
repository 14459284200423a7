"""Retention says what it did and leaves nothing: a merchant made by a team key, busy in
every table, acted on by the team's and the operator's keys, with keys in Redis; the dry
run lists what its removal will take (rows by table, Redis keys), the worker's pass removes
exactly that and says so in one INFO line and in /metrics, and after it nothing of the
merchant is left: every table counted by this test's own queries, the idempotency rows of
the requests that made it and acted on it (in the team's and the operator's scopes), and
every Redis key named after it, its keys or its endpoints."""

from __future__ import annotations

import asyncio
import logging
import secrets

from sandbox import db, redis_client
from sandbox.requests.writer import WRITER
from tests.helpers import Api, metrics_text
from tests.retention.test_removal import _busy, _counts, _idle_since


async def _redis_keys(merchant_id: str) -> list[str]:
    """Every key in Redis with the merchant's id, one of its API keys' ids or one of its
    webhook endpoints' ids in its name (this test's own search: the whole key space)."""
    ids = [merchant_id, *(r["id"] for r in await db.fetch(
        "SELECT id FROM api_key WHERE merchant = $1 UNION ALL SELECT id FROM webhook_endpoint WHERE merchant = $1",
        merchant_id))]
    found = []
    async for raw in redis_client.get().scan_iter(count=1000):
        key = raw.decode()
        if any(i in key for i in ids):
            found.append(key)
    return sorted(found)


async def _rows_by_idempotency_key(keys: list[str]) -> int:
    return await db.fetchval("SELECT count(*) FROM idempotency_key WHERE key = ANY($1::text[])", keys)


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_pass_says_what_it_removed_and_leaves_nothing_of_the_merchant(stack, admin, database, caplog):
    from worker.main import build_worker
    from worker.retention import remove_idle_merchants

    made_team = await admin.post("/admin/teams", {"name": "retention says"})
    team = Api(stack.base_url, made_team.json()["api_key"])
    # The requests of other keys that leave rows about the merchant outside its own scope.
    theirs = {name: f"{name}-{secrets.token_hex(8)}" for name in ("made", "limit", "keep")}
    made = await team.post("/sandbox/merchants", {"name": "gone soon", "opening_balance": "100000.00",
                                                  "clock": "manual"}, idem=theirs["made"])
    assert made.status_code == 201, made.text
    merchant = Api(stack.base_url, made.json()["api_key"])
    merchant_id = merchant.merchant_id = made.json()["merchant"]["id"]
    # A worker while the merchant fills its tables, stopped before they are counted: its
    # retries to the dead receiver would add attempts between the counts.
    busy_worker = build_worker(shared_connections=True)
    running = asyncio.create_task(busy_worker.async_run())
    try:
        await _busy(merchant)
    finally:
        await busy_worker.stop_beside(running)
    assert (await team.put(f"/admin/merchants/{merchant_id}/rate-limit", {"requests_per_minute": 600},
                           idem=theirs["limit"])).status_code == 200
    assert (await admin.put(f"/admin/merchants/{merchant_id}/keep", {"keep": False},
                            idem=theirs["keep"])).status_code == 200
    assert (await merchant.get("/balance/summary")).status_code == 200  # a cached summary in Redis
    assert (await merchant.get("/balance")).status_code == 200  # its key's rate-limit window

    await WRITER.flush()  # the reads' request log entries are written in a batch a moment after their answers
    await _idle_since(31, merchant_id)
    rows = {t: n for t, n in (await _counts(merchant_id)).items() if n}
    in_other_scopes = await _rows_by_idempotency_key(list(theirs.values()))
    assert in_other_scopes == 3  # the 201 that made it (the team key's), the team's and the operator's changes
    redis_keys = await _redis_keys(merchant_id)
    prefixes = {k.split(":")[0] for k in redis_keys}
    assert {"ledger", "summary", "ratelimit"} <= prefixes, redis_keys
    # A rate-limit window of a second expires on its own within the test: the counts below
    # hold those that last (a minute or more) and at most all of them.
    lasting = [k for k in redis_keys if await redis_client.get().pttl(k) > 30_000]
    assert len(lasting) >= 3, redis_keys

    # The dry run lists what the pass will remove: the same rows (the idempotency rows of
    # every scope) and keys.
    dry = (await admin.get("/admin/retention", params={"limit": 1000})).json()
    (listed,) = [m for m in dry["data"] if m["merchant_id"] == merchant_id]
    expected = {**rows, "idempotency_key": rows.get("idempotency_key", 0) + in_other_scopes}
    assert listed["rows"] == expected
    assert len(lasting) <= listed["redis_keys"] <= len(redis_keys)
    assert dry["totals"]["rows"]["payout"] >= expected["payout"]

    metrics_before = await metrics_text(stack)
    caplog.set_level(logging.INFO, logger="sandbox.retention")
    caplog.clear()
    removed = 0
    while n := await remove_idle_merchants({}):  # the worker's cron job (other idle merchants may go too)
        removed += n
    assert removed >= 1
    lines = [r for r in caplog.records if r.name == "sandbox.retention" and r.levelno == logging.INFO]
    said = [r for r in lines if merchant_id in getattr(r, "merchants", [])]
    assert len(said) == 1, [r.getMessage() for r in lines]
    (line,) = said
    if line.merchants == [merchant_id]:  # alone in its pass: the line's counts are its own
        assert line.rows == expected and len(lasting) <= line.redis_keys <= len(redis_keys)
        assert f"removed 1 merchants, {sum(expected.values())} rows (" in line.getMessage()

    metrics_after = await metrics_text(stack)
    assert _metric(metrics_after, "sandbox_retention_merchants_removed_total") - \
        _metric(metrics_before, "sandbox_retention_merchants_removed_total") == removed
    for table in ("payout", "ledger_entry", "idempotency_key"):
        sample = f'sandbox_retention_rows_removed_total{{table="{table}"}}'
        assert _metric(metrics_after, sample) - _metric(metrics_before, sample) >= expected[table]
    assert _metric(metrics_after, "sandbox_retention_redis_keys_removed_total") - \
        _metric(metrics_before, "sandbox_retention_redis_keys_removed_total") >= len(lasting)

    after = await _counts(merchant_id)
    assert {t: n for t, n in after.items() if n} == {}
    assert await _rows_by_idempotency_key(list(theirs.values())) == 0
    assert await _redis_keys(merchant_id) == []
    for api in (team, merchant):
        await api.aclose()
