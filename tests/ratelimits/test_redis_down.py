"""Redis killed under a running stack (real processes): the rate limiter fails open, so
reads and payout creation go on (money and idempotency live in PostgreSQL), and once
Redis is back the sweepers move the payouts made meanwhile to their end."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from tests.process.services import running_services, wait_all_final


@pytest.fixture(scope="module")
def services():
    with running_services(workers=1) as s:
        yield s


def _payout() -> dict:
    account = f"{secrets.randbelow(10**10):010d}0001"
    return {"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": account}}


async def test_reads_and_payouts_go_on_while_redis_is_killed(services):
    api, merchant_id = await services.new_merchant()
    async with api:
        r = await api.get("/balance")
        assert r.status_code == 200 and "ratelimit-limit" in r.headers

        await asyncio.to_thread(services.stop_redis, True)  # SIGKILL, and it comes back empty
        r = await api.get("/balance")
        assert r.status_code == 200, r.text
        assert "ratelimit-limit" not in r.headers  # not limited while Redis is away
        key, body = secrets.token_hex(12), _payout()
        created = await api.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
        assert created.status_code == 201, created.text
        again = await api.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", again.text
        got = await api.get(f"/payouts/{created.json()['id']}")
        assert got.status_code == 200 and got.json()["status"] == "pending"
        listed = await api.get("/payouts")
        assert listed.status_code == 200 and len(listed.json()["data"]) == 1

        await asyncio.to_thread(services.start_redis)
        await wait_all_final(services, merchant_id, 1, 60)
        assert await services.invariant(merchant_id) == []

        async def limited_again() -> bool:
            return "ratelimit-limit" in (await api.get("/balance")).headers

        deadline = asyncio.get_running_loop().time() + 15
        while not await limited_again():
            assert asyncio.get_running_loop().time() < deadline, "rate limits did not come back"
            await asyncio.sleep(0.1)
