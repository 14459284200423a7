"""Keys that authenticated, remembered per API process: a request whose key was seen
before costs no database round trip to know who sent it (the auth query was one of the
four round trips of a GET), and a change to a key or its merchant still reaches every
process within milliseconds.

PostgreSQL tells us about changes: triggers on `api_key` and `merchant` (migration
2026-11-23T06:00) send `NOTIFY sandbox_auth` on any UPDATE, DELETE or TRUNCATE, and
each API process LISTENs on a connection of its own and forgets everything when one
arrives. Changes are rare (a revoked key, a rate-limit override), so forgetting all is
simplest and cheap. The process that makes a change through the API forgets at its
commit too, before it answers, so its own next request never sees the old value.

The cache is used only while that connection listens. From the moment it drops
(PostgreSQL restarted, the backend terminated) until it listens again, nothing is
remembered and every request asks the database, exactly as without a cache; listening
again starts from empty, since changes made meanwhile went unheard.

Only keys that authenticated are kept, under the SHA-256 of the whole key (never the
key itself); a wrong or revoked key always costs a query. A lookup that raced with a
notification is not kept (`generation`).

"Within milliseconds" is not enough for a client that changes something and at once sends
the request it changed it for (a fault rule, then the payout it should strike) on a new
connection that lands on another API process. So a change made through the API answers
only once every API process listening on its database has forgotten (`everywhere`): after
the commit, the process sends one more notification carrying a token, each listener
forgets and acknowledges it on SYNC_ACK_CHANNEL, and the change's answer waits for as many
acknowledgements as there are listeners (at most SYNC_WAIT_S: a process that hangs delays
the answer, never loses it). PostgreSQL delivers a channel's notifications in commit order,
so a listener that acknowledges the token has heard the change before it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time

import asyncpg

from sandbox.auth import held
from sandbox.auth.principal import Principal

CHANNEL = "sandbox_auth"
LISTENER_NAME = "sandbox-auth-listener"  # application_name of the listening connection
MAX_ENTRIES = 10_000  # keys are few; when full, start over rather than track recency
RELISTEN_S = 1.0  # pause between attempts to listen again while PostgreSQL is away
CONNECT_TIMEOUT_S = 5.0
SYNC_ACK_CHANNEL = "sandbox_auth_ack"
SYNC_PREFIX = "sync:"  # a notification's payload that asks its listeners to acknowledge it
SYNC_WAIT_S = 2.0

log = logging.getLogger("sandbox.auth")


class AuthCache:
    def __init__(self) -> None:
        self._entries: dict[str, Principal] = {}
        # Bumped whenever entries are forgotten: a lookup that started before a change and
        # finished after it must not store what it read.
        self.generation = 0
        self.listening = False
        self.started_listening = asyncio.Event()  # set once `listening` first turns true
        self._task: asyncio.Task | None = None
        self._tokens = itertools.count()
        # token -> [acknowledgements still awaited, the future the change's answer waits on]
        self._awaiting: dict[str, list] = {}
        self._acknowledging = asyncio.Lock()  # one query at a time on the listening connection

    def get(self, digest: str) -> Principal | None:
        principal = self._entries.get(digest) if self.listening else None
        if principal is not None and principal.expires_at is not None and principal.expires_at <= time.time():
            return None  # a rolled key past its overlap: the database says so (and refuses it)
        return principal

    def put(self, digest: str, principal: Principal, generation: int) -> None:
        if not self.listening or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = principal

    def forget_all(self) -> None:
        self.generation += 1
        self._entries.clear()

    def start(self, dsn: str) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(dsn), name="auth-cache-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self, dsn: str) -> None:
        was_down = False
        while True:
            lost = asyncio.Event()
            connection: asyncpg.Connection | None = None
            try:
                # pyright infers asyncpg's untyped timeout (seconds, any number) as int from its default.
                connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S,  # pyright: ignore[reportArgumentType]
                                                   server_settings={"application_name": LISTENER_NAME})
                assert connection is not None  # connect (untyped) returns a connection or raises
                connection.add_termination_listener(lambda _connection, done=lost: done.set())
                await connection.add_listener(CHANNEL, self._on_change)
                await connection.add_listener(SYNC_ACK_CHANNEL, self._on_ack)
                self.forget_all()  # what changed while nobody listened went unheard
                held.changed()  # and the keys of the streams it holds may have stopped working
                self.listening = True
                self.started_listening.set()
                if was_down:
                    log.info("auth cache: listening for key changes again")
                was_down = False
                await lost.wait()
            except Exception as exc:  # noqa: BLE001 - any failure means: no cache until we listen again
                reason = f"{type(exc).__name__}: {exc}"
            else:
                reason = "the listening connection was lost"
            finally:
                self.listening = False
                self.forget_all()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            if not was_down:  # once per outage, not once per attempt
                log.warning("auth cache off until PostgreSQL can be listened to again (%s)", reason)
            was_down = True
            await asyncio.sleep(RELISTEN_S)

    def _on_change(self, connection: asyncpg.Connection, _pid: int, _channel: str, payload: str) -> None:
        self.forget_all()
        if payload.startswith(SYNC_PREFIX):
            asyncio.get_running_loop().create_task(self._acknowledge(connection, payload))
        else:
            held.changed()

    async def _acknowledge(self, connection: asyncpg.Connection, token: str) -> None:
        # Only once the streams this process holds have been rechecked: a change's answer
        # (a roll) then means every stream of a revoked key, on every process, has been ended.
        await held.recheck_quietly()
        async with self._acknowledging:
            with contextlib.suppress(Exception):  # a lost connection: the waiting change times out
                await connection.execute("SELECT pg_notify($1, $2)", SYNC_ACK_CHANNEL, token)

    def _on_ack(self, _connection: asyncpg.Connection, _pid: int, _channel: str, token: str) -> None:
        awaiting = self._awaiting.get(token)
        if awaiting is None:
            return
        awaiting[0] -= 1
        if awaiting[0] <= 0 and not awaiting[1].done():
            awaiting[1].set_result(None)

    async def everywhere(self) -> None:
        """Return once every API process listening on this database has forgotten what it
        remembered (see the module's docstring); at once where this one does not listen."""
        from sandbox import db

        if not self.listening:
            return
        token = f"{SYNC_PREFIX}{os.getpid()}:{next(self._tokens)}"
        done = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(SYNC_WAIT_S):
                # Each API process keeps one listening connection, this one's included.
                listeners = await db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                    " AND datname = current_database()", LISTENER_NAME)
                self._awaiting[token] = [listeners, done]
                await db.execute("SELECT pg_notify($1, $2)", CHANNEL, token)
                await done
        except TimeoutError:
            log.warning("auth cache: not every API process acknowledged a change within %.0f s", SYNC_WAIT_S)
        except Exception as exc:  # noqa: BLE001 - the listener's connection went away: it is told anew when back
            log.warning("auth cache: could not wait for every API process (%s: %s)", type(exc).__name__, exc)
        finally:
            self._awaiting.pop(token, None)


CACHE = AuthCache()


async def forget_all() -> None:
    """For `db.after_commit` of a change made through the API: this process forgets at
    once, and the answer waits until every other API process has forgotten too."""
    CACHE.forget_all()
    await CACHE.everywhere()


async def forgotten_everywhere(dsn: str) -> bool:
    """For a change made outside the API (`sandbox seed` revoking the operator's older keys,
    or demo merchants' keys): return once every API process listening on the database has
    forgotten what it remembered, as a change made through the API does (`everywhere`), so
    a revoked key is refused on every replica from the seed's exit on. A listener of this
    process's own is made for the while. False when that could not be confirmed in time
    (the change still reaches each process with its notification)."""
    cache = AuthCache()
    cache.start(dsn)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await cache.started_listening.wait()  # its connection's first LISTEN, milliseconds away
        await cache.everywhere()
        return True
    except TimeoutError:
        return False
    finally:
        await cache.stop()
