"""A per-merchant version of the ledger in Redis, bumped once the transaction that posted
for the merchant commits. Anything computed from the merchant's ledger (the balance
summary's cache) keys what it keeps by this version, so it hears of every posting
without the ledger knowing who listens."""

from __future__ import annotations

from sandbox import enqueue as queue
from sandbox import redis_client

VERSION_TTL_S = 7 * 24 * 3600


def key(merchant_id: str) -> str:
    """The merchant's version key (retention removes it with the merchant)."""
    return f"ledger:version:{merchant_id}"


async def current(merchant_id: str) -> int:
    raw = await redis_client.get().get(key(merchant_id))
    return int(raw) if raw is not None else 0


async def bump_after_commit(merchant_id: str) -> None:
    """After a posting: bump the merchant's version once the current transaction commits,
    in the call that carries its other Redis commands (e.g. its payout's next step).
    Once however many postings the transaction made, and however many transactions for
    the merchant committed before that call left (`once`: one bump after all of
    them serves them all)."""

    def add(commands: queue.Commands) -> None:
        commands.incrby_expire(key(merchant_id), 1, VERSION_TTL_S)

    await queue.redis_after_commit(add, once=key(merchant_id))
