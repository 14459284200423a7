"""A step job applies the steps due after it in the same locked transaction: each step
still one status change with its own posting and event; a duplicate or late job does
nothing; the bound on steps per job hands the rest to the queue."""

import pytest

from sandbox import db
from sandbox.ledger.service import check_invariant
from sandbox.payouts.lifecycle import engine, planner, schedule
from tests.helpers import payout_body


async def _created(merchant, account: str = "12345678900001") -> str:
    r = await merchant.post("/payouts", payout_body(account=account))
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _events(payout_id: str) -> list[tuple[str, str]]:
    rows = await db.fetch("SELECT type, data->>'status' AS status FROM outbox_event WHERE payout_id = $1"
                          " ORDER BY created_at, type", payout_id)
    return [(r["type"], r["status"]) for r in rows]


async def _kinds(payout_id: str) -> list[str]:
    rows = await db.fetch("SELECT kind FROM ledger_transaction WHERE payout_id = $1 ORDER BY id", payout_id)
    return [r["kind"] for r in rows]


async def test_one_job_applies_the_whole_due_chain(merchant, database):
    payout_id = await _created(merchant)
    assert await engine.advance(payout_id, schedule.MAIN, 0) is True
    p = (await merchant.get(f"/payouts/{payout_id}")).json()
    assert [h["status"] for h in p["status_history"]] == ["pending", "processing", "success"]
    assert p["attempts"] == 1 and p["psp_reference"]
    assert sorted(await _events(payout_id)) == [
        ("payout.created", "pending"), ("payout.processing", "processing"), ("payout.success", "success")]
    assert await _kinds(payout_id) == ["payout_created", "payout_succeeded"]
    assert await db.fetchval("SELECT next_action_at FROM payout WHERE id = $1", payout_id) is None
    assert await check_invariant(merchant.merchant_id) == []

    # The same job again (a duplicate, or arq retrying it) and a late job for the next step: no-ops.
    assert await engine.advance(payout_id, schedule.MAIN, 0) is False
    assert await engine.advance(payout_id, schedule.MAIN, 1) is False
    assert len(await _events(payout_id)) == 3 and len(await _kinds(payout_id)) == 2


async def test_bound_hands_the_rest_to_the_queue(merchant, database, monkeypatch):
    monkeypatch.setattr(planner, "MAX_STEPS_PER_JOB", 1)
    payout_id = await _created(merchant)
    assert await engine.advance(payout_id, schedule.MAIN, 0) is True
    row = await db.fetchrow("SELECT status, step_index, next_action_at FROM payout WHERE id = $1", payout_id)
    assert row["status"] == "processing" and row["step_index"] == 1 and row["next_action_at"] is not None
    assert await engine.advance(payout_id, schedule.MAIN, 1) is True
    assert await db.fetchval("SELECT status FROM payout WHERE id = $1", payout_id) == "success"
    assert await check_invariant(merchant.merchant_id) == []


async def test_a_step_that_fails_undoes_the_whole_chain(merchant, database, monkeypatch):
    """The chain is one transaction: if a later step fails, the earlier ones roll back with
    it and the job (or the sweeper) finds the payout where it was."""
    payout_id = await _created(merchant)
    real = planner.transition

    def fail_on_success(row, to_status, **kw):
        if to_status == "success":
            raise RuntimeError("boom")
        return real(row, to_status, **kw)

    monkeypatch.setattr(planner, "transition", fail_on_success)
    with pytest.raises(RuntimeError):
        await engine.advance(payout_id, schedule.MAIN, 0)
    row = await db.fetchrow("SELECT status, step_index FROM payout WHERE id = $1", payout_id)
    assert (row["status"], row["step_index"]) == ("pending", 0)
    assert await _events(payout_id) == [("payout.created", "pending")]
    monkeypatch.undo()
    assert await engine.advance(payout_id, schedule.MAIN, 0) is True
    assert await db.fetchval("SELECT status FROM payout WHERE id = $1", payout_id) == "success"
    assert await check_invariant(merchant.merchant_id) == []
