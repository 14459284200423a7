"""Stepping a batch's new payouts from inside the batch job, for steps already due when
their chunk commits (every first step at time scale 0).

All of a batch's payouts share one merchant, so every posting they make waits on one
balance row, and so does every chunk the batch job still has to create. Fifty step jobs
at once (arq's `max_jobs`) only queue on that row, and the chunks queue behind them: the
creation of a 100,000-row batch slowed to a crawl. A few streams in the batch job step
as many payouts a second (the row is the limit, not the number of hands) and keep the
queue in front of each chunk short.

The payouts are stepped as the worker's `step_due` job steps them (`due_claims.advance_due`:
up to `due_claims.DUE_BATCH` in one transaction, rows claimed with SKIP LOCKED, a payout already
stepped no longer due): one commit, and one wait for the batch's balance row, per group
instead of per payout. If the batch job dies, what it had not stepped is overdue and the
sweeper wakes `step_due` for it."""

from __future__ import annotations

import asyncio
import logging

from sandbox.payouts.lifecycle import due_claims

log = logging.getLogger("sandbox.batches")

# Two: one's round trips overlap the other's work; more would only queue on the row.
STREAMS = 2


class Settler:
    def __init__(self) -> None:
        self._due: asyncio.Queue[list[str] | None] = asyncio.Queue()
        self._streams = [asyncio.create_task(self._stream()) for _ in range(STREAMS)]

    async def hand_over(self, payout_ids: list[str]) -> None:
        """Payouts whose first step is due now (call once their chunk has committed)."""
        self._due.put_nowait(payout_ids)

    async def _stream(self) -> None:
        while (payout_ids := await self._due.get()) is not None:
            for start in range(0, len(payout_ids), due_claims.DUE_BATCH):
                group = payout_ids[start:start + due_claims.DUE_BATCH]
                try:
                    await due_claims.advance_due(len(group), only=group)
                except Exception:  # still due: the sweeper wakes step_due for them
                    log.warning("batch: stepping a group of %d payouts failed", len(group), exc_info=True)

    async def drain(self) -> None:
        """Step everything handed over, then stop."""
        for _ in self._streams:
            self._due.put_nowait(None)
        await asyncio.gather(*self._streams)

    def cancel(self) -> None:
        for stream in self._streams:
            stream.cancel()
