"""GET /balance/summary: the buckets plus lifetime totals by kind, from the ledger;
cached per merchant (see `cache`)."""

from __future__ import annotations

import msgspec

from sandbox import db
from sandbox.core.clock import iso, now
from sandbox.core.money import format_amount
from sandbox.ledger import service as ledger
from sandbox.payouts.store import repository as payout_rows
from sandbox.settings import get_settings
from sandbox.summary import cache
from sandbox.summary.schemas import BalanceSummary, SummaryTotals, Total

# Which ledger kinds (and which of their legs) make each total.
_BY_KIND = {
    "opening_balance": (("opening_balance",), "available"),
    "topped_up": (("topup",), "available"),
    "collected": (("collection_created",), "pending"),
    "settled": (("collection_settled",), "available"),
    "declined": (("collection_declined",), "pending"),
    "paid_out": (("payout_succeeded",), "locked"),
    "released": (("payout_released",), "available"),
    "returned": (("payout_returned",), "available"),
}

_encode = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(BalanceSummary)


async def _compute(merchant_id: str) -> BalanceSummary:
    async with db.transaction():  # one snapshot for the buckets and the totals
        await db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        balance = await ledger.get_balance(merchant_id)
        rows = await db.fetch(
            "SELECT kind, bucket, count(*) AS n, sum(amount)::bigint AS total FROM ledger_entry"
            " WHERE merchant = $1 AND seq IS NOT NULL GROUP BY kind, bucket",
            merchant_id,
        )
        flight_count, flight_total = await payout_rows.in_flight_total(merchant_id)
    by = {(r["kind"], r["bucket"]): r for r in rows}

    def total(kinds: tuple[str, ...], bucket: str) -> Total:
        hits = [by[(k, bucket)] for k in kinds if (k, bucket) in by]
        return Total(count=sum(h["n"] for h in hits), amount=format_amount(abs(sum(h["total"] for h in hits))))

    totals = {name: total(kinds, bucket) for name, (kinds, bucket) in _BY_KIND.items()}
    return BalanceSummary(
        currency=balance["currency"],
        available=format_amount(balance["available"]),
        locked=format_amount(balance["locked"]),
        pending=format_amount(balance["pending"]),
        total=format_amount(balance["available"] + balance["locked"] + balance["pending"]),
        totals=SummaryTotals(**totals, in_flight=Total(count=flight_count, amount=format_amount(flight_total))),
        computed_at=iso(now()),
    )


async def summary(merchant_id: str) -> BalanceSummary:
    gen = await cache.generation(merchant_id)
    cached = await cache.read(merchant_id, gen)
    if cached is not None:
        return _decode.decode(cached)
    fresh = await _compute(merchant_id)
    await cache.store(merchant_id, gen, _encode.encode(fresh), get_settings().summary_cache_s)
    return fresh
