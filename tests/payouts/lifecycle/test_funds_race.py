"""Concurrent payouts that together ask for more than the balance."""

import asyncio

from sandbox.ledger.service import check_invariant
from tests.helpers import new_merchant, payout_body


async def test_concurrent_payouts_never_overdraw(stack):
    api, merchant_id = await new_merchant(stack, opening_balance="10000.00")
    try:
        # 40 requests of 1,000.00 against 10,000.00: exactly 10 fit.
        responses = await asyncio.gather(*[api.post("/payouts", payout_body(amount="1000.00")) for _ in range(40)])
        codes = sorted(r.status_code for r in responses)
        assert codes.count(201) == 10, codes
        assert codes.count(422) == 30
        assert all(r.json()["code"] == "insufficient_funds" for r in responses if r.status_code == 422)
        balance = (await api.get("/balance")).json()
        assert balance["available"] == "0.00"
        assert balance["locked"] == "10000.00"
        assert await check_invariant(merchant_id) == []
    finally:
        await api.aclose()
