"""The worker's connections plan each statement once (`WORKER_SERVER_SETTINGS`): its claim
of due payouts, run again and again as the worker does, is planned generically and never
afresh for the moment's values (which cost more than the claim itself under load, and
chose a worse plan from the queue tables' stale statistics)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from sandbox.payouts.store import repository
from worker.main import WORKER_SERVER_SETTINGS


async def _plans(dsn: str, server_settings: dict[str, str] | None) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    try:
        claim = await conn.prepare(repository._CLAIM_DUE_ANY_SQL)
        for _ in range(8):
            async with conn.transaction():
                await claim.fetch(datetime.now(UTC), [], 50, [], 1, 0)
        row = await conn.fetchrow("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                                  " WHERE statement = $1", repository._CLAIM_DUE_ANY_SQL)
        assert row is not None
        return row["generic_plans"], row["custom_plans"]
    finally:
        await conn.close()


async def test_the_workers_claim_is_planned_once_not_on_every_call(stack):
    generic, custom = await _plans(stack.database_url, WORKER_SERVER_SETTINGS)
    assert custom == 0 and generic >= 1
    # Without the setting PostgreSQL plans the first calls for their values (and goes on
    # doing so whenever such a plan looks cheaper than the generic one).
    assert (await _plans(stack.database_url, None))[1] >= 5
