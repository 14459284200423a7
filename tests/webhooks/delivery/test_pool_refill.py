"""The pool never forgets a backlog: attempts that finish while a refill is asking the
database for more make that refill ask again, with the counts as they are now. Without
it, a refill whose query found the due rows leased for a moment (the relay handing them
back) judged the backlog gone by the counts after the attempts had finished, every later
refill was skipped, and the rest waited for the next sweep (a minute by default): how
tests/webhooks/delivery/test_backlog.py failed once in CI, on a loaded machine; made certain here."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sandbox.webhooks.delivery import pool as pool_module
from sandbox.webhooks.delivery.pool import DeliveryPool
from sandbox.webhooks.delivery.slots import Slots
from sandbox.webhooks.store.deliveries import DueClaim, Target
from tests.helpers import wait_for

LINE = 4


def _target(n: int) -> Target:
    at = datetime.now(UTC)
    return Target(delivery_id=f"dlv_{n}", merchant="mch_a", seq=n, attempt=1, lease_token="t", lease_until=at,
                  event_id=f"evt_{n}", event_type="payout.created", event_at=at, sequence=1, data="{}", request=None,
                  endpoint_id="we_1", url="http://127.0.0.1:9/", signing_keys=[], faults=None, fresh_until=at)  # type: ignore[arg-type]


async def test_attempts_finishing_during_a_refill_make_it_look_again(monkeypatch):
    waiting = [_target(n) for n in range(LINE, 12)]  # due in the "database"
    finish: dict[str, asyncio.Event] = {}
    done: list[str] = []
    first_claim_asked, first_claim_answers = asyncio.Event(), asyncio.Event()
    claims, gated = 0, False

    async def attempt(http, slots, recorder, target: Target) -> None:
        finish[target.delivery_id] = asyncio.Event()
        await finish[target.delivery_id].wait()
        done.append(target.delivery_id)

    async def claim_due(limit: int, line: int, held: dict[str, int], token: str | None = None) -> DueClaim:
        nonlocal claims, gated
        claims += 1
        room = min(limit, line - held.get("mch_a", 0))  # the counts as they were when asked
        if gated:  # a slow answer, and none: the relay held every due row leased meanwhile
            gated = False
            first_claim_asked.set()
            await first_claim_answers.wait()
            return DueClaim([], 0)
        taken, waiting[:] = waiting[:room], waiting[room:]
        return DueClaim(taken, len(taken))

    async def postpone(targets, due):
        waiting[:0] = targets
        return {t.delivery_id for t in targets}

    monkeypatch.setattr(pool_module.attempts, "attempt", attempt)
    monkeypatch.setattr(pool_module.deliveries, "claim_due", claim_due)
    monkeypatch.setattr(pool_module.deliveries, "postpone", postpone)

    pool = DeliveryPool(http=None, slots=Slots(10, 10), size=10, line_per_merchant=LINE)  # type: ignore[arg-type]
    assert await pool.take([_target(n) for n in range(LINE)]) == LINE
    pool.refill()  # the pool has a backlog (the relay left deliveries due)
    await pool.wait_refilled()  # the line is full: nothing taken, the backlog remembered
    assert claims == 1 and waiting and not done
    gated = True  # the next claim is slow

    async def finish_one(delivery_id: str) -> None:
        finish[delivery_id].set()

        async def finished() -> bool:
            return delivery_id in done
        await wait_for(finished, what=f"{delivery_id} finished")

    # Two finish: the line is half empty, a refill asks for two...
    await finish_one("dlv_0")
    await finish_one("dlv_1")
    await asyncio.wait_for(first_claim_asked.wait(), 5)  # a refill asks the database
    # ...and while it waits for the answer, the other two finish too.
    await finish_one("dlv_2")
    await finish_one("dlv_3")
    first_claim_answers.set()
    await pool.wait_refilled()

    # Everything waiting is attempted without a sweep.
    async def drained() -> bool:
        for event in finish.values():
            event.set()
        await asyncio.sleep(0)
        return not waiting and len(done) == 12
    await wait_for(drained, timeout=5, what="every waiting delivery attempted")
