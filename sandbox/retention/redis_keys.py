"""A merchant's keys in Redis, which retention removes with its rows: every key built from
the merchant's id or from the id of one of its own things. Each is named by the module that
writes it; this module only gathers them.

- `ledger:version:<merchant>` (sandbox/ledger/version.py, kept 7 days);
- `summary:<merchant>:<version>` (sandbox/summary/cache.py, at most 120 s);
- the rate limiter's windows of each of its API keys (sandbox/ratelimits/sliding_window.py);
- its webhook endpoints' listener presence and queue (sandbox/webhooks/delivery/listener_link.py).

Not here: a team's day count (the team's, not the merchant's), arq's jobs and results (named
by payout and delivery ids; a job whose row is gone finds nothing to do and ends)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox import db, redis_client
from sandbox.ledger import version as ledger_version
from sandbox.ratelimits import sliding_window
from sandbox.summary import cache as summary_cache
from sandbox.webhooks.delivery import listener_link

SCAN_COUNT = 1000


@dataclass
class _Owned:
    exact: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()


async def _owned(merchant_ids: list[str]) -> dict[str, _Owned]:
    rows = await db.fetch(
        "SELECT m.id, ARRAY(SELECT k.id FROM api_key k WHERE k.merchant = m.id) AS keys,"
        " ARRAY(SELECT e.id FROM webhook_endpoint e WHERE e.merchant = m.id) AS endpoints"
        " FROM merchant m WHERE m.id = ANY($1::text[])", merchant_ids)
    owned = {}
    for r in rows:
        exact = {ledger_version.key(r["id"])}
        for endpoint in r["endpoints"]:
            exact |= {listener_link.streams_key(endpoint), listener_link.queue_key(endpoint)}
        prefixes = (summary_cache.keys_prefix(r["id"]), *map(sliding_window.keys_prefix, r["keys"]))
        owned[r["id"]] = _Owned(exact, prefixes)
    return owned


async def of(merchant_ids: list[str]) -> dict[str, list[str]]:
    """The keys each merchant has in Redis now (read while its rows still exist): one SCAN
    of the key space for all of them."""
    owned = await _owned(merchant_ids)
    found: dict[str, list[str]] = {m: [] for m in owned}
    if not owned:
        return found
    async for raw in redis_client.get().scan_iter(count=SCAN_COUNT):
        key = raw.decode() if isinstance(raw, bytes) else raw
        for merchant, its in owned.items():
            if key in its.exact or key.startswith(its.prefixes):
                found[merchant].append(key)
                break
    return found


async def remove(keys: list[str]) -> int:
    """Remove the keys; how many were there."""
    return int(await redis_client.get().unlink(*keys)) if keys else 0
