"""`sandbox logs tail`: the merchant's request log as it grows (GET
/api/v1/sandbox/requests/stream), one line per request, or the entries as JSON lines.
It reconnects when the stream drops (at once when the server says it is going away) and
resumes after the last entry the stream sent, or where it started when it sent none."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import msgspec
from httpx_sse import aconnect_sse

from sandbox.client.listener import GOING_AWAY, KEY_REVOKED, KEY_STOPPED, RECONNECT_S, api_client, key_stopped, \
    reconnect_after


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
    # Where to resume: the last event's id (each entry's place in the log; the stream's
    # first message carries where it started, so a tail that printed nothing yet resumes
    # from its own start too).
    last: str | None = None if options.after is None else str(options.after)
    failures = 0
    connected = False
    async with api_client(options.url, options.key) as api:
        while stop is None or not stop.is_set():
            headers = {"Last-Event-ID": last} if last else {}
            going_away = None
            try:
                async with aconnect_sse(api, "GET", "/sandbox/requests/stream", params=query,
                                        headers=headers) as source:
                    status = source.response.status_code
                    if status != 200:
                        body = (await source.response.aread()).decode("utf-8", "replace")
                        if connected and (status == 429 or status >= 500):  # a server starting or busy: again later
                            raise httpx.HTTPStatusError(f"the sandbox answered {status}",
                                                        request=source.response.request, response=source.response)
                        options.err(f"the sandbox refused the tail: {status} {body[:300]}")
                        return 2
                    failures, opened = 0, False
                    async for event in source.aiter_sse():
                        if not opened:  # the stream's first message: it is open, and says where it starts
                            opened = True
                            options.err("stream resumed" if connected else "Tailing the request log; Ctrl-C to stop.")
                            connected = True
                        last = event.id or last
                        if event.event == "request":
                            options.out(event.data if options.json else line(event.data))
                        elif event.event == GOING_AWAY:
                            going_away = event
                        elif event.event == KEY_REVOKED:
                            options.err(f"sandbox: {key_stopped(event)}")
                            return KEY_STOPPED
                why = "the sandbox closed the stream"
            except (httpx.HTTPError, OSError) as exc:
                if not connected:
                    raise
                why = f"{type(exc).__name__}: {exc}"
            if going_away is not None:
                failures, why, wait = 0, "the sandbox is stopping", reconnect_after(going_away)
            else:
                wait = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                failures += 1
            options.err(f"stream lost ({why}); reconnecting in {wait:g} s")
            await asyncio.sleep(wait)
    return 0
