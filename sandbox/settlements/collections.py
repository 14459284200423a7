"""Sandbox collections: incoming funds credited to `pending` through the ledger."""

from __future__ import annotations

import asyncpg

from sandbox import db
from sandbox.core.clock import iso, now
from sandbox.core.errors import NotFound
from sandbox.core.ids import new_id
from sandbox.core.money import format_amount, parse_amount
from sandbox.ledger import service as ledger
from sandbox.settlements.schemas import Collection, CollectionIn

COLUMNS = "id, amount, outcome, status, reference, description, settlement, created_at, settled_at"


def to_api(row: asyncpg.Record) -> Collection:
    return Collection(
        id=row["id"], object="collection", amount=format_amount(row["amount"]), currency="PKR",
        outcome=row["outcome"], status=row["status"], reference=row["reference"], description=row["description"],
        settlement_id=row["settlement"], created_at=iso(row["created_at"]),
        settled_at=iso(row["settled_at"]) if row["settled_at"] else None,
    )


async def create(merchant_id: str, body: CollectionIn) -> Collection:
    amount = parse_amount(body.amount)
    at = now()
    async with db.transaction():
        posted = await ledger.post(merchant_id, "collection_created", amount, None, at)
        row = await db.fetchone(
            f"INSERT INTO collection (id, merchant, amount, outcome, status, reference, description,"
            f" created_transaction, settlement, settled_transaction, created_at, settled_at)"
            f" VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, NULL, NULL, $8, NULL) RETURNING {COLUMNS}",
            new_id("col"), merchant_id, amount, body.outcome, body.reference, body.description,
            posted.transaction_id, at,
        )
    return to_api(row)


async def get(collection_id: str, merchant_id: str) -> Collection:
    row = await db.fetchrow(f"SELECT {COLUMNS} FROM collection WHERE id = $1 AND merchant = $2",
                            collection_id, merchant_id)
    if row is None:
        raise NotFound(f"No collection {collection_id}")
    return to_api(row)
