"""How many webhook requests one worker has in flight: in all, for any one merchant, and
to any one origin.

httpx's connection pool does work per pooled connection on every request, so a fast
receiver is served quickest over a few connections (figures in docs/benchmark.md);
the overall limit lets slow receivers elsewhere proceed meanwhile, and the merchant's
limit keeps one merchant's slow receivers from taking every turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable

from sandbox.webhooks.model.urls import parsed


class _Keyed:
    """A semaphore per key, made on first use and dropped when nobody holds or awaits it."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._entries: dict[Hashable, tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def take(self, key: Hashable) -> AsyncIterator[None]:
        entry = self._entries.get(key)
        if entry is None:  # (not setdefault: it would build a semaphore on every call)
            entry = self._entries[key] = (asyncio.Semaphore(self._size), [0])
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._entries[key]


class Slots:
    def __init__(self, total: int, per_origin: int, per_merchant: int | None = None,
                 per_listener: int | None = None) -> None:
        self._total = asyncio.Semaphore(max(1, total))
        self._origins = _Keyed(per_origin)
        self._merchants = _Keyed(per_merchant or total)
        # A listener endpoint (`listener://we_…`) is an origin of its own, with its own
        # window (SANDBOX_LISTEN_WINDOW): its requests wait on the stream, not on a connection.
        self._listeners = _Keyed(per_listener or per_origin)

    @contextlib.asynccontextmanager
    async def take(self, merchant: str, url: str) -> AsyncIterator[None]:
        endpoint = parsed(url)  # parsed once per URL
        origin = (endpoint.scheme, endpoint.host, endpoint.port)
        if endpoint.scheme == "listener":
            # A listener endpoint's request holds no connection of this worker (it waits on
            # Redis for the listener's answer), so it takes no merchant or overall slot, only
            # one of its listener's window: a round trip through the stream is longer than
            # a request to a URL, and the window is what keeps the listener busy.
            async with self._listeners.take(origin):
                yield
            return
        # The merchant's turn, then the origin's, then a slot: whoever waits for a slot
        # holds no more than its merchant's share, so a busy merchant cannot hold them all.
        async with self._merchants.take(merchant), self._origins.take(origin), self._total:
            yield

