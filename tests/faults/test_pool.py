"""The database pool keeps its connections through faults: a transaction whose BEGIN
never completes (its server process frozen, the request then cancelled) gives its
connection back instead of leaking it. With a pool of one connection a leak shows at
once: the next request would wait forever."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import asyncpg
import pytest

from sandbox import db
from sandbox.piccolo_conf import DB


@pytest.fixture
async def one_connection_pool(servers):
    """A pool of exactly one connection in place of the process's own (restored after)."""
    database_url, _ = servers
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    saved, DB.pool = DB.pool, pool
    try:
        yield pool
    finally:
        DB.pool = saved
        pool.terminate()


async def test_a_begin_that_never_completes_gives_the_connection_back(one_connection_pool):
    pool = one_connection_pool
    async with pool.acquire() as conn:
        backend = conn.get_server_pid()  # the pool's only connection: the transaction gets it
    try:
        os.kill(backend, 0)
    except ProcessLookupError:
        pytest.skip("the database server runs elsewhere (SANDBOX_DATABASE_URL): its processes cannot be frozen")
    entered = asyncio.Event()

    async def request() -> None:
        async with db.transaction():
            entered.set()

    os.kill(backend, signal.SIGSTOP)  # the server process stops answering: BEGIN hangs
    try:
        task = asyncio.create_task(request())
        deadline = time.monotonic() + 10
        while pool.get_idle_size() != 0:  # checked out; BEGIN is on its way
            assert time.monotonic() < deadline, "the transaction never took the connection"
            await asyncio.sleep(0.01)
        task.cancel()  # what a request timeout or a dropped client does
        with contextlib.suppress(asyncio.CancelledError):
            # Even with its server frozen, the cancelled transaction ends within the
            # release deadline rather than waiting on the connection forever.
            await asyncio.wait_for(task, db.RELEASE_TIMEOUT_S + 10)
        assert not entered.is_set()
    finally:
        os.kill(backend, signal.SIGCONT)

    # The connection is back in the pool (or replaced): the next transaction runs.
    async def next_request() -> int:
        async with db.transaction():
            return await db.fetchval("SELECT 1")

    assert await asyncio.wait_for(next_request(), 10) == 1
