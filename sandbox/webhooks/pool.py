"""Where a worker's webhook attempts run: its own bounded pool of tasks, not arq's job
slots, so receivers that hang never hold the slots payout steps and other merchants'
jobs need. The relay and the delivery job only claim a delivery and hand it here.

Fairness between merchants: at most `per_merchant` attempts of one merchant are on the
wire at once (see `Slots`); its other attempts wait in its own line, which holds
nothing anyone else needs. A merchant whose line is full (`line_per_merchant`) has the
rest postponed in the database, where the delivery job finds them again later: a
merchant with thousands of deliveries to endpoints that hang costs the worker that many
rows, not that much memory.

A worker that stops hands back what it had not finished: each lease is released and
the attempt scheduled again at once, as arq hands back the jobs it cancels."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import httpx

from sandbox.core.clock import now
from sandbox.events import wakeups
from sandbox.webhooks import attempts, deliveries
from sandbox.webhooks.deliveries import Target
from sandbox.webhooks.slots import Slots

log = logging.getLogger("sandbox.webhooks")


class DeliveryPool:
    def __init__(self, http: httpx.AsyncClient, slots: Slots, line_per_merchant: int,
                 postpone_by: timedelta) -> None:
        self.http = http
        self.slots = slots
        self.line_per_merchant = max(1, line_per_merchant)
        self.postpone_by = postpone_by
        self._tasks: dict[asyncio.Task, Target] = {}
        self._per_merchant: Counter[str] = Counter()

    async def submit(self, target: Target) -> bool:
        """Start the attempt; False when the merchant's line was full and the attempt
        was postponed instead (or the lease was lost meanwhile)."""
        if self._per_merchant[target.merchant] >= self.line_per_merchant:
            due = now() + self.postpone_by
            if await deliveries.postpone([target], due):
                await wakeups.schedule_attempt(target.delivery_id, target.attempt, due, postponed=True)
            return False
        self._per_merchant[target.merchant] += 1
        task = asyncio.create_task(attempts.attempt(self.http, self.slots, target))
        self._tasks[task] = target
        task.add_done_callback(self._done)
        return True

    async def deliver(self, delivery_id: str) -> bool:
        """Start the next attempt of one delivery, if it is due and nobody else is making it."""
        target = await deliveries.claim(delivery_id)
        return target is not None and await self.submit(target)

    def _done(self, task: asyncio.Task) -> None:
        target = self._tasks.pop(task)
        self._per_merchant[target.merchant] -= 1
        if not self._per_merchant[target.merchant]:
            del self._per_merchant[target.merchant]

    async def close(self) -> None:
        """Stop: cancel what is unfinished and hand each back (its lease released, its
        attempt due at once) for the next worker."""
        unfinished = list(self._tasks.items())
        for task, _ in unfinished:
            task.cancel()
        await asyncio.gather(*(task for task, _ in unfinished), return_exceptions=True)
        if not unfinished:
            return
        try:
            targets = [target for _, target in unfinished]
            returned = await deliveries.postpone(targets, now())
            for target in (t for t in targets if t.delivery_id in returned):
                await wakeups.schedule_attempt(target.delivery_id, target.attempt, None, postponed=True)
        except Exception:  # the sweeper finds them once their leases expire
            log.warning("could not hand back %d webhook deliveries", len(unfinished), exc_info=True)
