"""The request log as it grows: GET /sandbox/requests/stream, behind `sandbox logs tail`.

Server-sent events, one `event: request` per entry (its `data` the entry as GET
/sandbox/requests/{id} answers it: the same redaction, which happened when it was
written), its SSE `id` the entry's place in the log; a reconnecting client sends it back
as `Last-Event-ID` (or `?after=`) and resumes after it.

Entries are written in batches a moment after their answers (requests/writer.py), and a
batch can commit after a later one: the stream looks at the merchant's entry numbers past
where it stood `LATE_S` ago (one index-only query every `POLL_S`) and sends those it has not
sent. So an entry shows within POLL_S plus the writer's batch (50 ms) of its answer.

Bounded: at most `BATCH` entries are read and sent a poll, the numbers remembered are those
of the last LATE_S (at most the merchant's rate limit's worth), and a slow reader stops
the stream's writes and with them its reads."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator

import msgspec
from litestar.response import ServerSentEventMessage

from sandbox.health.going_away import unless_ended
from sandbox.requests import store
from sandbox.requests.service import to_api

POLL_S = 0.2
LATE_S = 2.0
BATCH = 200
ALIVE_S = 5.0  # a comment this often, so proxies and the client see the stream is alive
# The answers `sandbox listen` sends back (one POST per batch of deliveries) are its own
# traffic, not the integration's: left out of the tail.
LISTENER_ACKS_ROUTE = "/api/v1/webhook-listeners/{endpoint_id:str}/acks"


class Filters(msgspec.Struct, frozen=True):
    method: str | None = None
    path: str | None = None
    status_low: int | None = None
    status_high: int | None = None
    idempotency_outcome: str | None = None


def status_range(status: str | None) -> tuple[int | None, int | None]:
    """`404` → (404, 404); `4xx` → (400, 499); None → no filter (the pattern was checked)."""
    if status is None:
        return None, None
    if status.endswith("xx"):
        low = int(status[0]) * 100
        return low, low + 99
    return int(status), int(status)


async def events(merchant_id: str, filters: Filters, after: int | None) -> AsyncGenerator[ServerSentEventMessage, None]:
    cursor = after if after is not None else await store.newest_number(merchant_id)
    sent: set[int] = set()
    marks: deque[tuple[float, int]] = deque()  # (when, the cursor then): where to look back from
    alive_at = time.monotonic() + ALIVE_S
    # Its id is where the stream starts: a client that loses the stream before any entry
    # (the server stopping, say) resumes from there, not from a later "now".
    yield ServerSentEventMessage(comment="tailing", id=str(cursor))
    while True:
        at = time.monotonic()
        marks.append((at, cursor))
        while len(marks) > 1 and marks[1][0] <= at - LATE_S:
            marks.popleft()
        low = marks[0][1]
        numbers = [n for n in await store.numbers_after(merchant_id, low, BATCH + len(sent)) if n not in sent]
        numbers = numbers[:BATCH]
        if numbers:
            rows = await store.by_numbers(merchant_id, numbers, filters.method, filters.path, filters.status_low,
                                          filters.status_high, filters.idempotency_outcome, LISTENER_ACKS_ROUTE)
            sent.update(numbers)
            cursor = max(cursor, *numbers)
            for row in rows:
                yield ServerSentEventMessage(data=msgspec.json.encode(to_api(row)).decode(), event="request",
                                             id=str(row["number"]))
        # Forget what is below where the stream will look from next.
        floor = marks[0][1]
        sent = {n for n in sent if n > floor}
        if time.monotonic() >= alive_at:
            alive_at = time.monotonic() + ALIVE_S
            yield ServerSentEventMessage(comment="alive")
        if len(numbers) < BATCH:
            await unless_ended(asyncio.sleep(POLL_S))  # the server's stop ends it (sandbox/health/going_away.py)
