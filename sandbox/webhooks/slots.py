"""How many webhook requests one worker has in flight: in all, and to any one origin.

httpx's connection pool does work per pooled connection on every request, so a fast
receiver is served quickest over a few connections (figures in sandbox/bench/README.md);
the overall limit lets slow receivers elsewhere proceed meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx


class Slots:
    def __init__(self, total: int, per_origin: int) -> None:
        self._total = asyncio.Semaphore(max(1, total))
        self._per_origin = max(1, per_origin)
        self._origins: dict[tuple, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def take(self, url: str) -> AsyncIterator[None]:
        parsed = httpx.URL(url)
        origin = (parsed.scheme, parsed.host, parsed.port)
        one = self._origins.setdefault(origin, asyncio.Semaphore(self._per_origin))
        async with one, self._total:  # the origin's turn first, so one busy origin cannot hold every slot
            yield
