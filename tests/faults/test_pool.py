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
from tests.helpers import wait_for


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


async def test_closing_the_pool_terminates_a_leaked_connection_and_says_so(servers, monkeypatch, caplog):
    """A connection nobody gives back (a leak) made the pool's close() wait for ever, so the
    process never ended on SIGTERM. Now the close gives up after its deadline, terminates
    the connection and names it in the log."""
    database_url, _ = servers
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    saved, DB.pool = DB.pool, pool
    monkeypatch.setattr(db, "CLOSE_TIMEOUT_S", 0.5)
    try:
        leaked = await pool.acquire()  # and never released
        backend = leaked.get_server_pid()
        started = time.monotonic()
        with caplog.at_level("ERROR", logger="sandbox.db"):
            await asyncio.wait_for(db.stop(), 10)
        assert time.monotonic() - started < 5
        assert "connections still in use 0.5 s into its close, terminated: 1 [closed=False" in caplog.text
        # Its server process ends too: the connection was closed, not abandoned.
        check = await asyncpg.connect(database_url)
        try:
            await wait_for(lambda: check.fetchval("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1", backend),
                           10, what="the leaked connection's backend to end")
        finally:
            await check.close()
    finally:
        DB.pool = saved
        pool.terminate()


async def test_a_transaction_whose_rollback_is_cut_short_is_closed_not_given_back_in_it(one_connection_pool,
                                                                                       monkeypatch):
    """A task cancelled again while its transaction rolls back (a worker's stop under load:
    arq cancels the job, then the stop cancels what is left) leaves its connection inside
    the transaction. Given back so, asyncpg logged "Resetting connection with an active
    transaction" as an error in the worker's stop (the kill-and-restart lane under
    stress-ng); closed instead, the server rolls it back and the pool opens another."""
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    saved = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context["message"]))

    async def cut_short(self) -> None:
        raise asyncio.CancelledError

    monkeypatch.setattr(db.Transaction, "rollback", cut_short)
    try:
        with pytest.raises(asyncio.CancelledError):
            async with db.transaction():
                await db.execute("CREATE TEMP TABLE left_in_transaction (n int)")
                raise ValueError("the block failed")
    finally:
        loop.set_exception_handler(saved)
    assert errors == []
    monkeypatch.undo()
    # The one connection of the pool answers again, outside any transaction.
    async with db.transaction():
        assert await db.fetchval("SELECT count(*) FROM pg_class WHERE relname = 'left_in_transaction'") == 0


async def test_a_statement_waits_for_a_pool_whose_connections_are_all_out_only_until_its_deadline(
        one_connection_pool, monkeypatch):
    """Taking a free connection sets no deadline (it cannot wait); with every connection
    out (a frozen server holds them) the wait is bounded: the request fails (503) rather
    than queueing behind them."""
    monkeypatch.setattr(db, "_acquire_timeout", 0.2)
    async with one_connection_pool.acquire():  # the pool's only connection, out
        statement = asyncio.create_task(db.fetchval("SELECT 1"))
        done, _ = await asyncio.wait({statement}, timeout=10)
        assert statement in done, "the statement waited for the pool past its deadline"
        assert isinstance(statement.exception(), TimeoutError)
    assert await asyncio.wait_for(db.fetchval("SELECT 1"), 10) == 1  # free again: taken at once


async def test_a_failed_or_cancelled_statement_gives_its_connection_back(servers, one_connection_pool):
    """With a pool of one, a connection not given back would hang the next statement."""
    with pytest.raises(asyncpg.DivisionByZeroError):
        await db.fetchval("SELECT 1 / 0")
    assert await asyncio.wait_for(db.fetchval("SELECT 2"), 10) == 2

    sleeping = asyncio.create_task(db.execute("SELECT pg_sleep(30) /* cancelled */"))
    watcher = await asyncpg.connect(servers[0])
    try:
        await wait_for(lambda: watcher.fetchval("SELECT count(*) = 1 FROM pg_stat_activity WHERE state = 'active'"
                                                " AND query LIKE '%pg_sleep(30) /* cancelled */%'"
                                                " AND pid <> pg_backend_pid()"),
                       10, what="the statement to be under way")
    finally:
        await watcher.close()
    sleeping.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sleeping
    assert await asyncio.wait_for(db.fetchval("SELECT 3"), 10) == 3

    async with one_connection_pool.acquire() as conn:
        conn.terminate()  # closed while free, as asyncpg closes an idle one: opened again when taken
    assert await asyncio.wait_for(db.fetchval("SELECT 4"), 10) == 4

