"""Recording attempts together: each finished attempt waits while the statement before
it is written, and then all that finished meanwhile go in one statement (one round trip
and one commit, where each attempt was its own; `core.batching`). Nothing waits for a
batch to fill: an attempt that finds no write under way is written at once, alone."""

from __future__ import annotations

from sandbox.core.batching import Batcher
from sandbox.webhooks.store import deliveries
from sandbox.webhooks.store.deliveries import Outcome

MOST = 200  # outcomes a statement, so one statement stays short


async def _write(outcomes: list[Outcome]) -> list[bool]:
    moved = await deliveries.record(outcomes)
    return [outcome.target.delivery_id in moved for outcome in outcomes]


class Recorder:
    def __init__(self) -> None:
        self._batcher: Batcher[Outcome, bool] = Batcher(_write, MOST)

    async def record(self, outcome: Outcome) -> bool:
        """Store it (with whatever else finished meanwhile); False if the delivery's lease
        was lost meanwhile."""
        return await self._batcher.submit(outcome)
