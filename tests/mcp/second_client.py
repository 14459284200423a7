"""Another client, in a process of its own (on loopback a client is its process): the SDK's
default client gets a merchant and makes `payouts` payouts, one every `every` seconds,
then prints what it got as one JSON line: how long each call took and any error's words.

    python -m tests.mcp.second_client URL PAYOUTS EVERY [session] [key=KEY]

With `session`: the handshake client (a session of its own) instead; with `key=KEY`:
new_merchant is called with that idempotency key (and reveal_key)."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from tests.mcp.client import over_http, sessionless


async def main(url: str, payouts: int, every: float, session_: bool = False, key: str | None = None) -> dict:
    said: dict = {"calls": [], "errors": []}

    async def timed(session, name: str, **arguments) -> dict | None:
        started = time.monotonic()
        result = await session.call_tool(name, arguments)
        said["calls"].append([name, round(time.monotonic() - started, 3)])
        text = "".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            said["errors"].append(f"{name}: {text}")
            return None
        return result.structured_content

    try:
        opened = over_http(url) if session_ else sessionless(url)
        session = await opened.__aenter__()
    except Exception as exc:  # the handshake refused: its words are what the test reads
        said["errors"].append(f"connect: {exc!r}")
        return said
    try:
        made = await timed(session, "new_merchant", **({"idempotency_key": key, "reveal_key": True} if key else {}))
        said["merchant"] = made["merchant"] if made else None
        said["handle"] = made["handle"] if made else None
        for _ in range(payouts if made else 0):
            next_at = time.monotonic() + every
            await timed(session, "create_payout", scenario="success", merchant=said["handle"])
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # a client's own pace, not a wait on us
        said["whoami"] = await timed(session, "whoami")
    finally:
        await opened.__aexit__(None, None, None)
    return said


if __name__ == "__main__":
    flags = sys.argv[4:]
    key = next((flag[4:] for flag in flags if flag.startswith("key=")), None)
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), "session" in flags, key))))
