"""`sandbox logs tail`: the merchant's request log as it grows (GET
/api/v1/sandbox/requests/stream), one line per request, or the entries as JSON lines.
It reconnects when the stream drops and resumes after the last entry it printed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import msgspec
from httpx_sse import aconnect_sse

from sandbox.client.listener import RECONNECT_S, api_client


class Entry(msgspec.Struct):
    id: str
    at: str
    method: str
    path: str
    status: int
    duration_ms: float
    idempotency_key: str | None = None
    idempotency_outcome: str | None = None
    fault: str | None = None


_entry = msgspec.json.Decoder(Entry)


@dataclass
class Options:
    url: str
    key: str
    method: str | None = None
    path: str | None = None
    status: str | None = None
    idempotency_outcome: str | None = None
    json: bool = False
    after: int | None = None  # resume after this entry (an event's id); None: from now on
    out: Callable[[str], None] = print
    err: Callable[[str], None] = lambda line: print(line, file=sys.stderr)


def line(data: str) -> str:
    """One request in one line: time, status, method, path, duration, key and its outcome,
    fault, request id."""
    e = _entry.decode(data)
    key = f"  key={e.idempotency_key} ({e.idempotency_outcome})" if e.idempotency_key else ""
    fault = f"  fault={e.fault}" if e.fault else ""
    return f"{e.at}  {e.status}  {e.method} {e.path}  {e.duration_ms:g} ms{key}{fault}  [{e.id}]"


async def tail(options: Options, stop: asyncio.Event | None = None) -> int:
    query = {k: v for k, v in (("method", options.method), ("path", options.path), ("status", options.status),
                               ("idempotency_outcome", options.idempotency_outcome)) if v}
    last: str | None = None if options.after is None else str(options.after)
    failures = 0
    async with api_client(options.url, options.key) as api:
        while stop is None or not stop.is_set():
            headers = {"Last-Event-ID": last} if last else {}
            try:
                async with aconnect_sse(api, "GET", "/sandbox/requests/stream", params=query,
                                        headers=headers) as source:
                    if source.response.status_code != 200:
                        body = (await source.response.aread()).decode("utf-8", "replace")
                        options.err(f"the sandbox refused the tail: {source.response.status_code} {body[:300]}")
                        return 2
                    failures = 0
                    async for event in source.aiter_sse():
                        if event.event != "request":
                            continue
                        options.out(event.data if options.json else line(event.data))
                        last = event.id or last
                why = "the sandbox closed the stream"
            except (httpx.HTTPError, OSError) as exc:
                if last is None and failures == 0:
                    raise
                why = f"{type(exc).__name__}: {exc}"
            wait = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
            failures += 1
            options.err(f"stream lost ({why}); reconnecting in {wait:g} s")
            await asyncio.sleep(wait)
    return 0
