"""Retention: a merchant idle past SANDBOX_RETENTION_DAYS is removed wholly (every table
counted before and after, by this test's own queries), a kept one and an active one are
spared to the row, the dry run lists exactly what the worker's passes then remove, in
bounded batches, and a pass run again removes nothing twice. Every remaining merchant's
ledger still adds up, and the ledger stays append-only for them."""

from __future__ import annotations

import asyncpg
import pytest

from sandbox import db
from sandbox.retention import activity, removal
from tests.helpers import Api, payout_body, wait_for

# Every table a merchant's rows live in, and this test's own way to count them ($1: the id).
# Tables with a `merchant` column are found in the schema itself (`_merchant_tables`); these
# are the ones that reach a merchant through another row.
MOVING = ("outbox_unrelayed",)  # the relay's to-do list: rows come and go as a live merchant's events do
INDIRECT = {
    "outbox_unrelayed": "SELECT count(*) FROM outbox_unrelayed u JOIN outbox_event e ON e.number = u.number"
                        " WHERE e.merchant = $1",
    "webhook_attempt": "SELECT count(*) FROM webhook_attempt a JOIN webhook_delivery d ON d.id = a.delivery"
                       " WHERE d.merchant = $1",
    "payout_batch_item": "SELECT count(*) FROM payout_batch_item i JOIN payout_batch b ON b.id = i.batch"
                         " WHERE b.merchant = $1",
    "idempotency_key": "SELECT count(*) FROM idempotency_key WHERE scope = $1",
    "ipn_notification": "SELECT count(*) FROM ipn_notification n JOIN payout p ON p.psp_reference = n.psp_reference"
                        " WHERE p.merchant = $1",
    "merchant": "SELECT count(*) FROM merchant WHERE id = $1",
}
# What the idle merchant below is made to have, so its removal is seen in each of them.
MADE = {"merchant", "api_key", "balance", "ledger_transaction", "ledger_entry", "payout", "outbox_event",
        "webhook_endpoint", "webhook_delivery", "webhook_attempt", "webhook_audit", "request_log", "fault_rule",
        "merchant_scenario", "idempotency_key", "payout_batch", "payout_batch_item", "collection", "settlement",
        "merchant_clock", "merchant_error_count", "merchant_activity"}


async def _merchant_tables() -> list[str]:
    rows = await db.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                          " AND column_name = 'merchant' ORDER BY table_name")
    return [r["table_name"] for r in rows]


async def _counts(merchant_id: str) -> dict[str, int]:
    counts = {t: await db.fetchval(f"SELECT count(*) FROM {t} WHERE merchant = $1", merchant_id)  # noqa: S608
              for t in await _merchant_tables()}
    counts.update({t: await db.fetchval(sql, merchant_id) for t, sql in INDIRECT.items()})
    return counts


async def _idle_since(days: float, *merchant_ids: str) -> None:
    await db.execute("UPDATE merchant_activity SET at = now() - make_interval(days => $2::int)"
                     " WHERE merchant = ANY($1::text[])", list(merchant_ids), int(days))
    activity.forget()  # this process's API would otherwise not write again for minutes


async def _new(admin, stack, **extra) -> Api:
    r = await admin.post("/sandbox/merchants", {"name": "retention", "opening_balance": "100000.00", **extra})
    assert r.status_code == 201, r.text
    api = Api(stack.base_url, r.json()["api_key"])
    api.merchant_id = r.json()["merchant"]["id"]
    return api


async def _busy(api: Api) -> None:
    """A merchant with a row in every table a merchant can fill through the API."""
    endpoint = (await api.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})).json()
    assert (await api.post(f"/webhook-endpoints/{endpoint['id']}/audit")).status_code == 200
    assert (await api.post("/sandbox/faults", {"path": "/balance/summary", "fault": "slow", "times": 5,
                                               "delay_s": 0})).status_code == 201
    steps = [{"status": "processing", "after_s": 1, "submit": True}, {"status": "success", "after_s": 1}]
    made = await api.post("/sandbox/scenarios", {"name": "kept_simple", "title": "t", "steps": steps})
    assert made.status_code == 201
    for suffix in ("0001", "0003"):
        assert (await api.post("/payouts", payout_body(account="1234567890" + suffix))).status_code == 201
    assert (await api.post("/payout-batches", {"items": [{"amount": "1.00", "destination": {
        "type": "bank", "bank_code": "HBL", "account_number": "12345678900001"}}]})).status_code == 202
    assert (await api.post("/sandbox/collections", {"amount": "10.00"})).status_code == 201
    assert (await api.get("/payouts/po_nothing_here")).status_code == 404  # an error code counted
    assert (await api.post("/sandbox/clock/advance", {"until": "idle"})).status_code == 200

    async def delivered() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM webhook_attempt a JOIN webhook_delivery d"
                                      " ON d.id = a.delivery WHERE d.merchant = $1", api.merchant_id))
    await wait_for(delivered, what="a webhook attempt")

    async def relayed() -> bool:  # every event has its deliveries: their count stays as it is
        return not await db.fetchval(INDIRECT["outbox_unrelayed"], api.merchant_id)
    await wait_for(relayed, what="the relay to take every event")
    from sandbox.settlements import service as settlements
    await settlements.run_due()


@pytest.fixture
def retention_batch(monkeypatch):
    monkeypatch.setenv("SANDBOX_RETENTION_BATCH", "1")  # one merchant a pass: passes are bounded


async def test_an_idle_merchant_goes_wholly_a_kept_and_an_active_one_stay(stack, admin, worker, database,
                                                                           retention_batch):
    from worker.main import build_worker
    from worker.retention import remove_idle_merchants

    assert "remove_idle_merchants" in build_worker(shared_connections=True).functions  # the worker's cron job

    idle = await _new(admin, stack, clock="manual")
    older = await _new(admin, stack)
    kept = await _new(admin, stack, clock="manual")
    active = await _new(admin, stack, clock="manual")
    for api in (idle, kept, active):
        await _busy(api)
    marked = await admin.http.put(f"/admin/merchants/{kept.merchant_id}/keep", json={"keep": True},
                                  headers={"X-Idempotency-Key": "keep-it"})
    assert marked.status_code == 200 and marked.json() == {"merchant_id": kept.merchant_id, "keep": True}
    await _idle_since(31, idle.merchant_id, kept.merchant_id)
    await _idle_since(40, older.merchant_id)  # idle longest: the first to go

    # Every table with a merchant column is one retention removes from, and this test counts.
    assert set(await _merchant_tables()) | set(INDIRECT) == {t for t, _ in removal.REMOVAL}
    before = {api.merchant_id: await _counts(api.merchant_id) for api in (idle, kept, active)}
    assert {t for t, n in before[idle.merchant_id].items() if n > 0} >= MADE, before[idle.merchant_id]

    dry = (await admin.get("/admin/retention", params={"limit": 1000})).json()
    listed = [m["merchant_id"] for m in dry["data"]]
    assert listed[:2] == [older.merchant_id, idle.merchant_id] and dry["retention_days"] == 30
    assert kept.merchant_id not in listed and active.merchant_id not in listed
    assert (await db.fetchval("SELECT count(*) FROM merchant WHERE id = ANY($1::text[])", listed)) == len(listed)

    removed = []
    while n := await remove_idle_merchants({}):  # the worker's cron job, a bounded pass at a time
        assert n == 1
        removed.append(listed[len(removed)])
        assert (await db.fetchval("SELECT count(*) FROM merchant WHERE id = ANY($1::text[])",
                                  listed[:len(removed)])) == 0
    assert removed == listed  # what the dry run listed, in its order, and nothing else
    assert await remove_idle_merchants({}) == 0  # run again: nothing more
    assert await removal.remove(idle.merchant_id, removal.cutoff(30)) is None  # the same id twice: left alone

    after = await _counts(idle.merchant_id)
    assert after == dict.fromkeys(after, 0), {t: n for t, n in after.items() if n}
    assert (await idle.get("/balance")).status_code == 401  # its key went with it
    for api in (kept, active):
        now = await _counts(api.merchant_id)
        # Nothing of theirs went: every count is what it was, or more where the worker's
        # retries to their dead receiver (attempts) and this test's reads (the log) went on.
        # Their events waiting for the relay are a to-do list the relay empties as it goes
        # (an event the worker made after `before` was relayed meanwhile): left out here;
        # that the idle merchant's went is counted above.
        # (Their payouts may still be moving under the worker, so counts may grow: none fell.)
        assert {t: n for t, n in now.items() if n < before[api.merchant_id][t] and t not in MOVING} == {}
        verify = (await api.get("/balance/verify")).json()
        assert verify["ok"] is True, verify
    # The invariant over every merchant that remains: each bucket is the sum of its entries.
    wrong = await db.fetch(
        "SELECT b.merchant FROM balance b LEFT JOIN LATERAL (SELECT"
        " COALESCE(sum(amount) FILTER (WHERE bucket = 'available'), 0) AS a,"
        " COALESCE(sum(amount) FILTER (WHERE bucket = 'locked'), 0) AS l,"
        " COALESCE(sum(amount) FILTER (WHERE bucket = 'pending'), 0) AS p"
        " FROM ledger_entry e WHERE e.merchant = b.merchant) s ON true"
        " WHERE (b.available, b.locked, b.pending) <> (s.a, s.l, s.p)")
    assert wrong == []
    for api in (idle, older, kept, active):
        await api.aclose()


async def test_the_ledger_stays_append_only_for_every_merchant_retention_does_not_remove(merchant, other_merchant,
                                                                                          database):
    """The trigger lets a transaction delete the ledger rows of the one merchant it names,
    and refuses any other row and any change, as before."""
    async with db.conn() as connection, connection.transaction():
        await connection.execute("SELECT set_config('sandbox.removing_merchant', $1, true)", other_merchant.merchant_id)
        with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
            await connection.execute("DELETE FROM ledger_entry WHERE merchant = $1", merchant.merchant_id)
    async with db.conn() as connection, connection.transaction():
        await connection.execute("SELECT set_config('sandbox.removing_merchant', $1, true)", merchant.merchant_id)
        with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
            await connection.execute("UPDATE ledger_entry SET amount = amount WHERE merchant = $1",
                                     merchant.merchant_id)
    async with db.conn() as connection:
        with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
            await connection.execute("DELETE FROM ledger_entry WHERE merchant = $1", merchant.merchant_id)
    assert (await merchant.get("/balance/verify")).json()["ok"] is True


async def test_a_team_keys_dry_run_lists_its_own_team_only(stack, admin, database):
    r = await admin.post("/admin/teams", {"name": "retained"})
    team = Api(stack.base_url, r.json()["api_key"])
    made = await team.post("/sandbox/merchants", {"name": "ours"})
    ours = made.json()["merchant"]["id"]
    theirs = await _new(admin, stack)
    await _idle_since(35, ours, theirs.merchant_id)
    listed = [m["merchant_id"] for m in (await team.get("/admin/retention", params={"limit": 1000})).json()["data"]]
    assert listed == [ours]
    everyone = [m["merchant_id"] for m in (await admin.get("/admin/retention", params={"limit": 1000})).json()["data"]]
    assert {ours, theirs.merchant_id} <= set(everyone)
    # Kept by the team's own mark, the merchant leaves the list.
    assert (await team.http.put(f"/admin/merchants/{ours}/keep", json={"keep": True},
                                headers={"X-Idempotency-Key": "team-keep"})).status_code == 200
    assert (await team.get("/admin/retention")).json()["data"] == []
    await db.execute("UPDATE merchant_activity SET at = now() WHERE merchant = $1", theirs.merchant_id)
    for api in (team, theirs):
        await api.aclose()
