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
notification is not kept (`generation`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from sandbox.auth.principal import Principal

CHANNEL = "sandbox_auth"
LISTENER_NAME = "sandbox-auth-listener"  # application_name of the listening connection
MAX_ENTRIES = 10_000  # keys are few; when full, start over rather than track recency
RELISTEN_S = 1.0  # pause between attempts to listen again while PostgreSQL is away
CONNECT_TIMEOUT_S = 5.0

log = logging.getLogger("sandbox.auth")


class AuthCache:
    def __init__(self) -> None:
        self._entries: dict[str, Principal] = {}
        # Bumped whenever entries are forgotten: a lookup that started before a change and
        # finished after it must not store what it read.
        self.generation = 0
        self.listening = False
        self._task: asyncio.Task | None = None

    def get(self, digest: str) -> Principal | None:
        return self._entries.get(digest) if self.listening else None

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
                await connection.add_listener(CHANNEL, lambda *_notification: self.forget_all())
                self.forget_all()  # what changed while nobody listened went unheard
                self.listening = True
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


CACHE = AuthCache()


async def forget_all() -> None:
    """For `db.after_commit`: this process forgets at once, the others when notified."""
    CACHE.forget_all()
