"""A listener (`sandbox listen`'s code) run in the test's event loop, beside a real
receiver that no webhook endpoint names: only the listener reaches it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from sandbox.client.listener import Listener, Options, api_client, open_endpoint
from tests.helpers import Api, payout_body, wait_for


@contextlib.asynccontextmanager
async def listening(base_url: str, key: str, forward_to: str, name: str = "default",
                    events: list[str] | None = None) -> AsyncIterator[dict]:
    """The listener endpoint as opened (`WebhookListener`, with `lines`: what it printed),
    its listener running until the block ends."""
    lines: list[str] = []
    options = Options(url=base_url, key=key, forward_to=forward_to, events=events or ["*"], name=name,
                      out=lines.append, err=lines.append)
    async with api_client(base_url, key) as api:
        opened = await open_endpoint(api, name, options.events)
        task = asyncio.create_task(Listener(options, api, opened).run())
        try:
            async def ready() -> bool:
                if task.done():  # ended before its stream opened: its exception says why
                    await task
                return any(line.startswith("Ready!") for line in lines)

            # As a user waits for "Ready!": the stream is open, what is sent now reaches the receiver.
            await wait_for(ready, timeout=30, what=lambda: f"the listener to say Ready! (it said: {lines})")
            yield {**opened, "lines": lines}
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def make_payouts(api: Api, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = await api.post("/payouts", json=payout_body())
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def event_ids(api: Api) -> set[str]:
    """Every event of the merchant, by id (paged)."""
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        try:
            r = await api.get("/events", params=params)
        except httpx.TransportError:  # a kept-alive connection the server closed as it was reused: ask again
            r = await api.get("/events", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        ids.update(e["id"] for e in page["data"])
        if not page["has_more"]:
            return ids
        cursor = page["next_cursor"]


async def settled(api: Api, payout_ids: list[str]) -> None:
    statuses: dict[str, str] = {}

    async def done() -> bool:
        for pid in payout_ids:
            statuses[pid] = (await api.get(f"/payouts/{pid}")).json()["status"]
        return all(status == "success" for status in statuses.values())

    await wait_for(done, timeout=60, what=lambda: f"every payout to succeed (last seen: {statuses})")
