"""The database engine, its pool, transactions and migrations.

Services write SQL through `conn()`: inside `transaction()` that is the transaction's
connection (Piccolo queries in the same task share it), outside it the pool."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import asyncpg
from piccolo.engine.postgres import PostgresTransaction

from sandbox import settings as _settings  # noqa: F401  (sets PICCOLO_CONF)
from sandbox.piccolo_conf import DB

log = logging.getLogger("sandbox.db")

# Generous next to the milliseconds these take, so a loaded machine never trips them:
RELEASE_TIMEOUT_S = 2.0  # resetting a connection given back (a timeout only replaces it)
CONNECT_TIMEOUT_S = 5.0  # opening one (asyncpg's default is 60 s)
CLOSE_TIMEOUT_S = 4.0  # at shutdown, for the connections in use to come back (inside its step's 5 s)
MIGRATION_LOCK = 7_340_001  # pg_advisory_lock id: one migrator at a time across processes


def configure(database_url: str) -> None:
    """Point the engine at a server. Call before `start()`."""
    DB.config.clear()
    DB.config["dsn"] = database_url


# How long taking a connection from the pool may wait (see `start`).
_acquire_timeout: float | None = None


async def start(min_size: int = 2, max_size: int = 20, statement_timeout: float | None = None,
                init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
                server_settings: dict[str, str] | None = None) -> None:
    """`statement_timeout`: the client-side deadline of each statement and of taking a
    pooled connection, in seconds (None: none, for one-off steps like migrations). It is
    what ends the wait when the server is frozen (SIGSTOP, a hung host): the server's own
    statement_timeout runs inside the stopped server. A statement that hits it is cancelled
    within the same deadline, or its connection is closed and replaced. `init`: run on
    each new connection (the worker's gives its server process the worker's niceness,
    `sandbox.runtime.backend_nice`). `server_settings`: the server's settings for each
    connection of this pool (the worker's plan their statements once, see worker/main.py)."""
    global _acquire_timeout
    if DB.pool is None:
        _acquire_timeout = statement_timeout
        DB.pool = await asyncpg.create_pool(
            dsn=DB.config["dsn"],
            min_size=min_size,
            max_size=max_size,
            # A new connection gives up after this long (asyncpg's default is 60 s): with the
            # postmaster stopped or unreachable, a request that needs one answers 503 soon.
            timeout=CONNECT_TIMEOUT_S,
            command_timeout=statement_timeout,
            # Statements are cached per connection; keep the cache for the hot path.
            statement_cache_size=256,
            # No session state is ever set (advisory locks are transaction-scoped, no LISTEN,
            # no SET), so skip asyncpg's reset query: one round trip less per request.
            reset=_no_reset,
            init=init,
            server_settings=server_settings,
        )


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None


async def stop() -> None:
    """Close the pool: wait up to CLOSE_TIMEOUT_S for the connections in use to come back
    (asyncpg's close() would wait for ever), then terminate them all. A connection still
    out by then was leaked by its borrower: said in the log, with what asyncpg knows of it,
    so a SIGTERM always ends the process and a leak never goes unseen."""
    if DB.pool is not None:
        pool, DB.pool = DB.pool, None
        closing = asyncio.ensure_future(pool.close())
        done, _ = await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT_S)
        if not done:
            leaked = _in_use(pool)  # before the close, cancelled, terminates them all
            closing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closing
            if leaked:
                log.error("database pool: connections still in use %g s into its close, terminated: %d %s",
                          CLOSE_TIMEOUT_S, len(leaked), " ".join(leaked))
            else:  # every connection came back; a server slow to end their sessions
                log.warning("database pool: its connections did not close within %g s, terminated",
                            CLOSE_TIMEOUT_S)
        else:
            closing.result()


def _in_use(pool: asyncpg.Pool) -> list[str]:
    """What asyncpg knows of each connection still checked out (private attributes: for the
    log line only, and read defensively)."""
    seen = []
    for holder in getattr(pool, "_holders", ()):
        if getattr(holder, "_in_use", None) is None:
            continue
        con = getattr(holder, "_con", None)
        protocol = getattr(con, "_protocol", None)
        seen.append(
            f"[closed={con.is_closed() if con else None}"
            f" cancelling={protocol._is_cancelling() if protocol else None}"
            f" queries={getattr(protocol, 'queries_count', None)}]"
        )
    return seen


@contextlib.asynccontextmanager
async def running(database_url: str, min_size: int = 1, max_size: int = 2,
                  server_settings: dict[str, str] | None = None) -> AsyncIterator[None]:
    """This process's pool on `database_url` for the block: one-off steps (migrate, seed)
    and benchmarks, which open it, do their work and close it again. `server_settings`: as
    `start`'s."""
    configure(database_url)
    await start(min_size, max_size, server_settings=server_settings)
    try:
        yield
    finally:
        await stop()


class Transaction(PostgresTransaction):
    """Piccolo's transaction, but the connection goes back to the pool even when the
    commit itself fails (a deferred constraint, a lost server), and work registered
    with `after_commit` runs once the commit has succeeded."""

    def __init__(self, engine, allow_nested: bool = True) -> None:
        super().__init__(engine, allow_nested)
        self.on_commit: list[Callable[[], Awaitable[object]]] = []

    async def get_connection(self):
        if self.engine.pool is None:
            return await super().get_connection()
        return await _take(self.engine.pool)

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            # Piccolo's own __aenter__ keeps the connection checked out when BEGIN fails (a
            # server that went away under a pooled connection, a cancelled request): the
            # pool loses it for good, and once all are lost every request waits forever.
            await self._give_back()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def _give_back(self) -> None:
        # A connection release() cannot reset in time (its server frozen, a cancelled query
        # never acknowledged) is terminated and replaced, not waited for: no deadline here
        # hung the request for good.
        with contextlib.suppress(Exception):
            if self.connection.is_in_transaction():
                # Its rollback did not complete (the task cancelled again meanwhile, as at a
                # worker's stop): released so, asyncpg would log an error and roll back on
                # reset. Closed, the server rolls it back; the pool opens another.
                self.connection.terminate()
            if self.engine.pool:
                await self.engine.pool.release(self.connection, timeout=RELEASE_TIMEOUT_S)
            else:
                await self.connection.close(timeout=RELEASE_TIMEOUT_S)

    # Never swallows the block's exception (a false return lets it through; when there is
    # none the value is ignored): typed so, a checker knows what the block bound is bound.
    async def __aexit__(self, exception_type, exception, traceback) -> Literal[False]:
        if self._parent:
            return False
        try:
            if exception:
                if not self._rolled_back:
                    with contextlib.suppress(Exception):
                        await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            await self._give_back()
        if self._committed:
            for callback in self.on_commit:
                try:
                    await callback()
                except Exception:  # the effect is committed; sweepers make up for a lost follow-up
                    log.exception("after-commit callback failed")
        return False


async def after_commit(callback: Callable[[], Awaitable[object]]) -> None:
    """Run `callback` once the current transaction commits (at once when there is none);
    dropped if it rolls back. For work that must not see uncommitted data, like enqueueing."""
    tx = current()
    if tx is None:
        await callback()
    else:
        tx.on_commit.append(callback)


def transaction() -> Transaction:
    """A transaction; nested calls join the outer one."""
    return Transaction(DB)


def current() -> Transaction | None:
    tx = DB.current_transaction.get()
    assert tx is None or isinstance(tx, Transaction)  # every transaction is opened by transaction()
    return tx


@contextlib.asynccontextmanager
async def conn() -> AsyncIterator[asyncpg.Connection]:
    tx = current()
    if tx is not None:
        yield tx.connection  # pyright: ignore[reportReturnType]  (a pool's proxy: see `pooled`)
    else:
        async with pooled(_acquire_timeout) as connection:
            yield connection


@contextlib.asynccontextmanager
async def pooled(acquire_timeout: float | None) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection of its own, outside any transaction. A statement cut by its
    deadline (a frozen server) closes the connection at once, and giving it back has a
    deadline too (see `Transaction._give_back`): resetting it would wait for the server."""
    pool = DB.pool
    if pool is None:
        raise RuntimeError("the database pool is not started (db.start())")
    connection = await _take(pool, acquire_timeout)
    try:
        # asyncpg's pool hands out a proxy that forwards every Connection method, untyped.
        yield connection  # pyright: ignore[reportReturnType]
    except BaseException as exc:
        await _give_back(pool, connection, exc)
        raise
    await _give_back(pool, connection)


async def _statement(method: str, sql: str, args: tuple) -> Any:
    """`conn()`'s connection's `method(sql, *args)`, for the one-statement helpers below:
    the same as `async with conn() as c`, without its two context managers' generators
    (every request runs a few of these)."""
    tx = current()
    if tx is not None:
        return await getattr(tx.connection, method)(sql, *args)
    pool = DB.pool
    if pool is None:
        raise RuntimeError("the database pool is not started (db.start())")
    connection = await _take(pool)
    try:
        result = await getattr(connection, method)(sql, *args)
    except BaseException as exc:
        await _give_back(pool, connection, exc)
        raise
    await _give_back(pool, connection)
    return result


async def _take(pool: asyncpg.Pool, deadline: float | None = None) -> Any:
    """A pooled connection. The deadline (`_acquire_timeout` unless given) bounds the wait
    for one when all are out (a frozen server holds them). While one is free, taking it
    does not wait (a connection closed for idleness is opened again within
    CONNECT_TIMEOUT_S), so no deadline is set: asyncpg sets one as a task and a timer,
    about 30 k instructions a statement (docs/benchmark.md). asyncpg's
    free holders are its private `_queue` (asyncpg is pinned by uv.lock;
    tests/faults/test_pool.py holds both cases)."""
    if pool._queue.empty():  # pyright: ignore[reportOptionalMemberAccess]  (set once the pool is started)
        return await pool.acquire(timeout=_acquire_timeout if deadline is None else deadline)
    return await pool.acquire()


async def _give_back(pool: asyncpg.Pool, connection: Any, failed: BaseException | None = None) -> None:
    """Give back a pooled connection. After a block that ended well it is idle, outside
    a transaction (a transaction's block ends it; else asyncpg's reset rolls it back under
    the statement deadline), so giving it back sends nothing (asyncpg's reset query is
    skipped, `_no_reset`) and has no deadline of its own, whose timer would cost more than
    the rest of the release. After `failed`: cut by its deadline (a frozen server), it is
    closed at once; otherwise given back with RELEASE_TIMEOUT_S (a statement cancelled
    mid-way leaves asyncpg waiting for the server's word), and what cannot be given back
    in time asyncpg terminates and the pool replaces."""
    if isinstance(failed, TimeoutError):
        connection.terminate()
    # A release that fails has terminated the connection itself; the pool replaces it.
    with contextlib.suppress(Exception):
        await pool.release(connection, timeout=None if failed is None else RELEASE_TIMEOUT_S)


async def fetch(sql: str, *args: Any) -> list[asyncpg.Record]:
    return await _statement("fetch", sql, args)


async def fetchrow(sql: str, *args: Any) -> asyncpg.Record | None:
    return await _statement("fetchrow", sql, args)


async def fetchone(sql: str, *args: Any) -> asyncpg.Record:
    """`fetchrow` for a statement that always returns a row: an INSERT ... RETURNING, an
    aggregate, an UPDATE ... RETURNING of a row the transaction holds locked."""
    row = await fetchrow(sql, *args)
    if row is None:
        raise RuntimeError(f"no row from a statement that always returns one: {sql[:80]}")
    return row


async def fetchval(sql: str, *args: Any) -> Any:
    return await _statement("fetchval", sql, args)


async def execute(sql: str, *args: Any) -> str:
    return await _statement("execute", sql, args)


@contextlib.asynccontextmanager
async def migration_lock() -> AsyncIterator[None]:
    """PostgreSQL's session advisory lock MIGRATION_LOCK, on a connection of its own: one
    process at a time migrates or seeds, however many start at once (replicas, Jobs)."""
    lock_conn = await asyncpg.connect(dsn=DB.config["dsn"])
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        yield
    finally:
        await lock_conn.close()


async def migrate() -> None:
    """Apply every pending migration; safe when several processes start at once."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    async with migration_lock():
        # Piccolo prints its progress, and on a fresh database first counts every migration
        # as "already complete", then as "not yet run": kept for a failure's message only.
        with contextlib.redirect_stdout(io.StringIO()) as progress:
            response = await run_forwards(app_name="sandbox")
        if not response.success:
            raise RuntimeError(f"migrations failed: {response.message}\n{progress.getvalue()}")


async def pending_migrations() -> list[str]:
    """The ids of the migrations this installation holds that the database has not run
    (all of them on a database never migrated), oldest first."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    manager = BaseMigrationManager()
    # The folder piccolo_app.py names (read here without importing it: it imports every
    # domain's tables, and they import this module).
    folder = os.path.join(os.path.dirname(__file__), "migrations")
    ids = manager.get_migration_ids(manager.get_migration_modules(folder))
    if not await Migration.table_exists():
        return sorted(ids)
    return sorted(set(ids) - set(await Migration.get_migrations_which_ran(app_name="sandbox")))


def sql_migration(migration_id: str, description: str, forwards: list[str], backwards: list[str]):
    """A Piccolo migration made of SQL statements: for what column options cannot say
    (triggers, partial indexes). Each statement runs in order; `backwards` undoes them."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    manager = MigrationManager(migration_id=migration_id, app_name="sandbox", description=description)

    async def run_forwards() -> None:
        for statement in forwards:
            await DB.run_ddl(statement)

    async def run_backwards() -> None:
        for statement in backwards:
            await DB.run_ddl(statement)

    manager.add_raw(run_forwards)
    manager.add_raw_backwards(run_backwards)
    return manager
