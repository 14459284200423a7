"""Recording attempts together: each finished attempt waits while the statement before
it is written, and then all that finished meanwhile go in one statement (one round trip
and one commit, where each attempt was its own). Nothing waits for a batch to fill: an
attempt that finds no write under way is written at once, alone."""

from __future__ import annotations

import asyncio

from sandbox.webhooks import deliveries
from sandbox.webhooks.deliveries import Outcome

MOST = 200  # outcomes a statement, so one statement stays short


class Recorder:
    def __init__(self) -> None:
        self._waiting: list[tuple[Outcome, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task | None = None

    async def record(self, outcome: Outcome) -> bool:
        """Store it (with whatever else finished meanwhile); False if the delivery's lease
        was lost meanwhile."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MOST], self._waiting[MOST:]
            try:
                moved = await deliveries.record([outcome for outcome, _ in batch])
            except Exception as exc:  # each attempt logs it; their leases expire and the sweep retries
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for outcome, done in batch:
                if not done.done():
                    done.set_result(outcome.target.delivery_id in moved)
