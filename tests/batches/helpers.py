"""Uploading batches and waiting for them, for the batch tests."""

from __future__ import annotations

import secrets

from sandbox import db
from tests.helpers import wait_for

HEADER = "reference,amount,type,bank_code,wallet_code,iban,account_number,account_title,description\n"


async def upload_csv(api, text: str | bytes, *, name: str = "batch.csv", idem: str | None = None):
    content = text.encode() if isinstance(text, str) else text
    return await api.http.post("/payout-batches", files={"file": (name, content, "text/csv")},
                               headers={"X-Idempotency-Key": idem or secrets.token_hex(12)})


async def wait_completed(api, batch_id: str, timeout: float = 60.0) -> dict:
    async def done():
        body = (await api.get(f"/payout-batches/{batch_id}")).json()
        return body if body["status"] != "processing" else None

    return await wait_for(done, timeout=timeout, interval=0.1, what=f"batch {batch_id} to complete")


async def items(api, batch_id: str, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await api.get(f"/payout-batches/{batch_id}/items", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        out.extend(body["data"])
        if not body["has_more"]:
            return out
        cursor = body["next_cursor"]


async def completed_events(merchant_id: str) -> list:
    return await db.fetch("SELECT data FROM outbox_event WHERE merchant = $1 AND type = 'batch.completed'",
                          merchant_id)
