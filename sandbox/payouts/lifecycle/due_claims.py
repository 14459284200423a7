"""Stepping the payouts whose step is due, many per transaction: the worker's `step_due`
job (woken as `schedule` describes) and a batch's first steps (`batches.settling`).

Per payout, a step job cost an arq claim and finish, a lock, a commit and an after-commit
Redis call; here a transaction claims up to DUE_BATCH due payouts of one merchant
from PostgreSQL (`FOR UPDATE SKIP LOCKED`, so any number of claimers share the work and
none waits for another's rows; one merchant, so it holds one balance row) and applies
each one's due steps as a step job would (`engine.apply_due`: each row re-checked, each
status change its own event and ledger transaction), all decided first and then
written together: one statement for the rows and events, one for the postings (the
only one that locks the balance row, right before the commit), one commit and one
after-commit Redis call. A worker
killed mid-transaction leaves nothing half-done: the transaction rolls back and its
payouts are due again for the next claim (or the sweeper).

A process runs one `step_due` pass at a time, with STREAMS claimers that each take their
own share of the merchants: a merchant's payouts are stepped by one claimer, not several
queueing for its balance row (one merchant's steps are one after the other anyway: every
posting updates that row). Claimers of two processes may share a merchant; a claim's
transaction locks no balance row but its merchant's, so they never wait on each other in
a cycle (claimed payout rows are never waited for: SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import logging
import time

from sandbox import db
from sandbox.core.clock import now
from sandbox.core.problem_answers import is_unavailable
from sandbox.payouts.lifecycle import engine, schedule
from sandbox.payouts.store import repository

log = logging.getLogger("sandbox.payouts.due_claims")

# Payouts per transaction. The transaction locks its merchant's balance row only for its
# last statement (the group's postings, in one call) and its commit, and that merchant's
# POSTs wait for it: the bound keeps that statement short. Each transaction costs a
# claim, two writes, a commit and a Redis call whatever its size: fewer, larger
# groups step a batch's payouts faster (a batch chunk's payouts, SANDBOX_BATCH_CHUNK's
# default 250, are one group).
DUE_BATCH = 250
# Claimers a `step_due` pass runs at once, each on its share of the merchants: one's
# round trips overlap the others' work.
STREAMS = 3
# A job that has claimed this long hands the rest to a fresh job (its run stays well
# inside arq's timeout for it).
JOB_BUDGET_S = 60.0

# A payout whose step failed inside a claimed group (the group rolled back) is stepped
# alone, and left out of claims for HOLD_BACK_S: one broken payout must not fail every
# group it lands in. The sweeper's own job for it still runs.
HOLD_BACK_S = 60.0
_held_back: dict[str, float] = {}


async def advance_due(limit: int, only: list[str] | None = None,
                      share: tuple[int, int] = (1, 0)) -> int:
    """Claim up to `limit` payouts of one merchant whose step is due (among `only` when
    given; of the merchants in `share`, see `repository.claim_due`) and apply their due
    steps, in one transaction. Returns how many were claimed: 0 when nothing is due."""
    return len((await advance_due_claim(limit, only, share)).rows)


async def advance_due_claim(limit: int, only: list[str] | None = None,
                            share: tuple[int, int] = (1, 0)) -> repository.DueClaim:
    """`advance_due`, returning the claim: its rows, and whether another merchant of the
    share had a payout due too."""
    claim = repository.DueClaim([], False)
    try:
        async with db.transaction():
            claim = await repository.claim_due(now(), limit, schedule.rail_reported_steps(),
                                               skip=_still_held_back(), only=only, share=share)
            await engine.apply_due(claim.rows)
        for row in claim.rows:  # the line a step job wrote per payout (its id, for following it)
            log.info("due steps applied", extra={"payout_id": row.id, "merchant_id": row.merchant})
    except Exception as exc:
        # The database or Redis gone (a restart): every payout is still due, for the next
        # claim once it is back. Stepping each alone, or holding any back, would only
        # leave healthy payouts waiting out HOLD_BACK_S after the outage.
        if not claim.rows or is_unavailable(exc):
            raise
        log.warning("stepping %d due payouts together failed; stepping each alone", len(claim.rows), exc_info=True)
        await _each_alone(claim.rows)
    return claim


async def _each_alone(rows: list[repository.PayoutRow]) -> None:
    for row in rows:
        try:
            await engine.advance(row.id, row.track, row.step_index)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            log.warning("stepping %s failed; held back from claims for %ss", row.id, HOLD_BACK_S, exc_info=True)
            _held_back[row.id] = time.monotonic() + HOLD_BACK_S


def _still_held_back() -> list[str]:
    if not _held_back:
        return []
    t = time.monotonic()
    for payout_id in [p for p, until in _held_back.items() if until <= t]:
        del _held_back[payout_id]
    return list(_held_back)


# This process's pass: running, and asked for again by a job that started meanwhile.
_running = False
_again = False


async def step_due() -> int:
    """The `step_due` job: a pass of STREAMS claimers until nothing is due. A job that
    finds this process's pass running leaves it to that pass, which claims once more when
    it ends (it may have missed what woke the job). After JOB_BUDGET_S the rest goes to a
    fresh job. Returns how many payouts were claimed."""
    global _running, _again
    await schedule.step_due_started()  # from here on, a commit wakes a fresh job
    if _running:
        _again = True
        return 0
    _running, claimed, deadline = True, 0, time.monotonic() + JOB_BUDGET_S
    try:
        while True:
            _again = False
            # Claimers for the shares that hold something due only (one statement, where an
            # empty claim is a transaction of three round trips: a payout settled alone paid
            # for two empty ones; docs/benchmark.md, "Where a payout's worker instructions
            # and WAL go").
            shares = await repository.due_shares(now(), STREAMS)
            claimed += sum(await asyncio.gather(*(_claim_until_done(k, deadline) for k in shares)))
            if time.monotonic() >= deadline or not _again:
                break
    finally:
        _running = False
    if time.monotonic() >= deadline:
        await schedule.wake_step_due_after_commit()  # outside a transaction: sent at once
    return claimed


async def _claim_until_done(k: int, deadline: float) -> int:
    claimed = 0
    while time.monotonic() < deadline:
        claim = await advance_due_claim(DUE_BATCH, share=(STREAMS, k))
        claimed += len(claim.rows)
        # Fewer than it asked for: its merchant has nothing more due, but another of its
        # share may (a claim takes one merchant's payouts), as the claim saw. What became
        # due since is woken as ever: a commit's wake sets `_again` (the pass claims once
        # more), a step due later is a job of its own (`schedule`).
        if not claim.rows or (len(claim.rows) < DUE_BATCH and not claim.others_due):
            break
    return claimed
