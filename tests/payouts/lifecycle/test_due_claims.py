"""Steps due now are claimed from PostgreSQL, many payouts per transaction (`step_due`):
claimers racing each other and per-payout step jobs apply every step once; a payout
whose step fails does not hold back the others; a step the rail reports is sent by the
claim that reached it."""

import asyncio

import pytest
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import deserialize_job

from sandbox import db, redis_client
from sandbox.ledger.service import check_invariant
from sandbox.payouts.lifecycle import due_claims, engine, planner, schedule
from sandbox.rail import client as rail
from tests.helpers import payout_body


async def _create(api, count: int, account: str = "12345678900001") -> list[str]:
    ids = []
    for _ in range(count):
        r = await api.post("/payouts", payout_body(amount="10.00", account=account))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _status(payout_id: str) -> str:
    return await db.fetchval("SELECT status FROM payout WHERE id = $1", payout_id)


async def test_claimers_and_step_jobs_racing_apply_each_step_once(merchant, other_merchant, database):
    ids = await _create(merchant, 20) + await _create(other_merchant, 20)

    async def claimer(share: tuple[int, int]) -> None:
        while await due_claims.advance_due(4, only=ids, share=share):
            pass

    # The job's own pass, two more claimers (as two other worker processes would run,
    # one sharing its merchants), and a per-payout step job for every payout (the sweeper's).
    await asyncio.gather(due_claims.step_due(), claimer((1, 0)), claimer((2, 1)),
                         *(engine.advance(payout_id, schedule.MAIN, 0) for payout_id in ids))

    assert [await _status(p) for p in ids] == ["success"] * len(ids)
    events = await db.fetch("SELECT payout_id, type FROM outbox_event WHERE payout_id = ANY($1::varchar[])", ids)
    assert sorted(e["type"] for e in events) == sorted(
        ["payout.created", "payout.processing", "payout.success"] * len(ids))
    kinds = await db.fetch("SELECT kind FROM ledger_transaction WHERE payout_id = ANY($1::varchar[])", ids)
    assert sorted(k["kind"] for k in kinds) == sorted(["payout_created", "payout_succeeded"] * len(ids))
    for api in (merchant, other_merchant):
        assert await check_invariant(api.merchant_id) == []
    balance = (await merchant.get("/balance")).json()
    assert balance["locked"] == "0.00"


async def test_a_failing_payout_does_not_hold_back_its_group(merchant, database, monkeypatch):
    ids = await _create(merchant, 5)
    broken = ids[2]
    real = planner.transition

    def fail_for_broken(row, to_status, **kw):
        if row.id == broken:
            raise RuntimeError("boom")
        return real(row, to_status, **kw)

    monkeypatch.setattr(planner, "transition", fail_for_broken)
    monkeypatch.setattr(due_claims, "_held_back", {})
    assert await due_claims.advance_due(len(ids), only=ids) == len(ids)
    assert [await _status(p) for p in ids] == ["success", "success", "pending", "success", "success"]
    # Held back: the job's claims leave it alone for a while (the sweeper's job does not).
    assert broken in due_claims._still_held_back()
    monkeypatch.undo()
    assert await engine.advance(broken, schedule.MAIN, 0) is True
    assert await _status(broken) == "success"
    assert await check_invariant(merchant.merchant_id) == []


async def test_a_step_the_rail_reports_is_sent_by_the_chain(merchant, database):
    """`…0006` is paid, then returned by the rail's callback: at time scale 0 that step is
    due with the payment, so the claim that paid it sends the callback (no job of its own
    for the step); `step_due` never claims the step while the callback is awaited."""
    [payout_id] = await _create(merchant, 1, account="12345678900006")
    assert await due_claims.advance_due(10, only=[payout_id]) == 1
    row = await db.fetchrow("SELECT status, step_index, psp_reference FROM payout WHERE id = $1", payout_id)
    assert (row["status"], row["step_index"]) == ("success", 2)
    assert await due_claims.advance_due(10, only=[payout_id]) == 0
    assert await redis_client.get().exists(f"arq:job:step:{payout_id}:main:2") == 0
    assert (rail.NOTIFY_JOB, row["psp_reference"], f"{payout_id}:main:2", "returned") in await _queued()


async def _queued() -> list[tuple]:
    """(function, first three arguments) of every job queued in arq."""
    r = redis_client.get()
    jobs = []
    for job_id in await r.zrange(default_queue_name, 0, -1):
        raw = await r.get(job_key_prefix + (job_id.decode() if isinstance(job_id, bytes) else job_id))
        if raw is not None:
            job = deserialize_job(raw)
            jobs.append((job.function, *job.args[:3]))
    return jobs


@pytest.mark.parametrize("wakes", [1, 3])
async def test_a_job_arriving_during_a_pass_is_served_by_it(merchant, database, monkeypatch, wakes):
    """A job that finds this process's pass running returns at once; the pass claims once
    more when it ends, so what woke the job is stepped."""
    first = await _create(merchant, 3)
    late: list[str] = []
    real = due_claims.advance_due_claim
    calls = 0

    async def advance_then_create(limit, **kw):
        nonlocal calls
        calls += 1
        claim = await real(limit, **kw)
        if calls == 1:  # during the pass: more payouts commit, and their wake-ups' jobs start
            late.extend(await _create(merchant, 2))
            assert [await due_claims.step_due() for _ in range(wakes)] == [0] * wakes
        return claim

    monkeypatch.setattr(due_claims, "advance_due_claim", advance_then_create)
    monkeypatch.setattr(due_claims, "STREAMS", 1)
    await due_claims.step_due()
    assert [await _status(p) for p in first + late] == ["success"] * 5


async def test_a_pass_steps_every_merchant_of_a_claimers_share(merchant, other_merchant, database, monkeypatch):
    """A claim takes one merchant's payouts; a claimer that took fewer than it asked for is
    told by that claim whether another merchant of its share has payouts due, and claims
    again for them: one pass steps both merchants."""
    monkeypatch.setattr(due_claims, "STREAMS", 1)  # one share: both merchants in it
    ids = await _create(merchant, 3) + await _create(other_merchant, 2)
    claims: list[tuple[int, bool]] = []
    real = due_claims.advance_due_claim

    async def counted(limit, **kw):
        claim = await real(limit, **kw)
        claims.append((len(claim.rows), claim.others_due))
        return claim

    monkeypatch.setattr(due_claims, "advance_due_claim", counted)
    assert await due_claims.step_due() >= len(ids)  # with any other test's payouts left due
    assert [await _status(p) for p in ids] == ["success"] * len(ids)
    # A claim took one merchant's payouts, fewer than it asked for, and saw more due.
    assert any(0 < claimed < due_claims.DUE_BATCH and others_due for claimed, others_due in claims), claims
