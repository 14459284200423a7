"""The worker's niceness reaches the PostgreSQL server processes serving its pool
(`sandbox.runtime.backend_nice`): each new connection's backend runs at it, where the server is
this machine's; other pools, other servers and other processes are left alone."""

from __future__ import annotations

import os

import asyncpg
import pytest

from sandbox.runtime.backend_nice import for_pool, over_unix_socket, renice_backend


async def _backend_nices(dsn: str, nice: int, connections: int = 2) -> list[int]:
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections, init=for_pool(nice, dsn))
    try:
        held = [await pool.acquire() for _ in range(connections)]
        pids = [await c.fetchval("SELECT pg_backend_pid()") for c in held]
        for c in held:
            await pool.release(c)
        return [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids]
    finally:
        await pool.close()


async def test_every_backend_of_a_niced_pool_runs_at_its_niceness(stack):
    if not over_unix_socket(stack.database_url):
        pytest.skip("the server is reached over TCP: its processes are not this machine's to renice")
    assert await _backend_nices(stack.database_url, 7) == [7, 7]
    assert await _backend_nices(stack.database_url, 0) == [0, 0]  # another pool's are not


def test_only_a_server_named_by_its_socket_folder_is_this_machines():
    assert over_unix_socket("postgresql://postgres@/sandbox?host=/tmp/data/postgres")
    assert over_unix_socket("postgresql://postgres@%2Ftmp%2Fdata/sandbox")
    assert not over_unix_socket("postgresql://postgres@127.0.0.1:5432/test")
    assert not over_unix_socket("postgresql://postgres@db:5432/sandbox")  # compose's service
    assert not over_unix_socket("postgresql://u@/db?host=/tmp/a&host=db")  # one host may be elsewhere
    assert for_pool(10, "postgresql://postgres@127.0.0.1:5432/test") is None
    assert for_pool(0, "postgresql://postgres@/sandbox?host=/tmp/data") is None


def test_a_process_that_is_not_postgres_is_never_reniced():
    before = os.getpriority(os.PRIO_PROCESS, os.getpid())
    assert renice_backend(os.getpid(), 12) is False
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before
    assert renice_backend(2**22 + 12345, 12) is False  # no such process
