"""Writing entries cheaply. A request whose effect is committed by the idempotency
middleware's transaction writes its entry in that transaction (`in_transaction`): the log
never shows less than happened. Every other entry is written after its answer, in a
batch: the gate hands it over (`later`) and one COPY a moment later writes all that came
in meanwhile (one INSERT when that is one entry), so a GET costs no round trip of its
own. Reading the log first writes what
this process holds (`flush`), so a client reading its log right after a request sees it;
with several API processes a read may be answered by another one, so a mutating
request's entry that no effect wrote is written before its answer leaves
(`Journal.write_before_answer`), and only reads wait for a batch (50 ms at most).

Batches are best effort: when the database is away, a failed batch is logged and dropped
(the requests it holds were answered; their effects, if any, are in the database)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sandbox.requests import store
from sandbox.requests.entry import Entry

log = logging.getLogger("sandbox.requests")

FLUSH_AFTER_S = 0.05  # how long an entry may wait for others to share its COPY
BATCH_MAX = 500  # a batch that grows this large is written at once


class Writer:
    def __init__(self) -> None:
        self._pending: list[tuple] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task] = set()

    @property
    def batches(self) -> frozenset[asyncio.Task]:
        """The tasks writing batches now (a test that counts a request's statements leaves them out)."""
        return frozenset(self._writing)

    def later(self, entry: Entry) -> None:
        self._pending.append(entry.record())
        if len(self._pending) >= BATCH_MAX:
            self._start_write()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._start_write)

    def _start_write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        records, self._pending = self._pending, []
        if records:
            task = asyncio.get_running_loop().create_task(self._write(records))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _write(self, records: list[tuple]) -> None:
        try:
            if len(records) == 1:  # one statement, prepared once: a COPY's setup costs more than one row
                await store.insert(records[0])
            else:
                await store.insert_many(records)
        except Exception as exc:  # noqa: BLE001 - the answers went out; only their record is lost
            log.warning("request log: %d entries not written (%s: %s)", len(records), type(exc).__name__, exc)

    async def flush(self) -> None:
        """Everything handed over so far is written (or given up) when this returns."""
        self._start_write()
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()


WRITER = Writer()


async def write_now(entry: Entry) -> None:
    """Write a finished entry now, on its own (best effort, as a batch)."""
    try:
        await store.insert(entry.record())
    except Exception as exc:  # noqa: BLE001 - the answer goes out; only its record is lost
        log.warning("request log: an entry not written (%s: %s)", type(exc).__name__, exc)


async def in_transaction(entry: Entry) -> None:
    """Write the entry now, in the caller's transaction."""
    entry.finish()
    await store.insert(entry.record())
    entry.written = True
