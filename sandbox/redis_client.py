"""The process's Redis client: one arq pool (a redis.asyncio client that can also
enqueue jobs) per process.

Every command has a deadline (SOCKET_TIMEOUT_S): a Redis that accepts connections but
answers nothing (stopped, stuck, packets dropped) makes a request fail with a timeout,
mapped to 503, instead of hanging it (seen in the frozen-Redis fault test: without one,
every authenticated request waited on the rate limiter for as long as Redis was frozen)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections.abc import Sequence

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

log = logging.getLogger("sandbox.redis")

CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 3.0
START_ATTEMPTS = 4  # at startup: Redis may still be coming up beside us

_client: ArqRedis | None = None
_client_lean: Lean | None = None  # the process's client's lean calls
_lean: weakref.WeakKeyDictionary[Redis, Lean] = weakref.WeakKeyDictionary()


class _Client(ArqRedis):
    """Each command has one deadline for all of it: redis-py connects a pool connection
    while holding the pool's lock, so against a frozen server the socket timeout alone
    lets requests queue behind each other (seen: 3, 6, 9, 12 s, …)."""

    async def execute_command(self, *args, **options):
        async with asyncio.timeout(SOCKET_TIMEOUT_S):
            return await super().execute_command(*args, **options)


def redis_settings(url: str) -> RedisSettings:
    """For arq's own pool in the worker (polling the queue)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


async def start(url: str) -> ArqRedis:
    global _client, _client_lean
    if _client is None:
        # from_url: the client owns its pool, so aclose() closes the connections too.
        client = _Client.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                await client.ping()
                break
            except (RedisError, OSError) as exc:
                if attempt == START_ATTEMPTS:
                    await client.aclose()
                    raise
                log.warning("Redis is not answering yet (%s); retrying", exc)
                await asyncio.sleep(1)
        _client, _client_lean = client, Lean(client)
    return _client


def get() -> ArqRedis:
    if _client is None:
        raise RuntimeError("Redis is not started")
    return _client


async def stop() -> None:
    global _client, _client_lean
    if _client is not None:
        client, _client = _client, None
        if _client_lean is not None:
            lean_calls, _client_lean = _client_lean, None
            await lean_calls.close()
        await client.aclose()


class Script:
    """A Lua script for `Lean`: its text and its SHA1, computed once."""

    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest().encode()


class Call:
    """An EVALSHA of `script` with its keys and arguments, packed by redis-py's connection
    once (`Lean.call`): for a call the hot path makes again and again with the same ones
    (the rate limiter's, for one API key), since packing costs more than the rest of
    sending it (each argument is encoded and framed in Python)."""

    __slots__ = ("args", "keys", "packed", "script")

    def __init__(self, script: Script, keys: Sequence, args: Sequence, packed: list[bytes]) -> None:
        self.script, self.keys, self.args, self.packed = script, keys, args, packed


class Lean:
    """The hot path's script calls (the rate limiter's, a write's after-commit commands):
    one command each, sent on a connection of a pool of its own through redis-py's
    connection (`pack_command`, `send_packed_command`, `read_response`: its packing and
    parsing), without the client's wrapping around it (`Script.__call__`,
    `execute_command`, the retry wrapper, the response callbacks) and without a
    per-socket-operation timeout, under which every send runs in a task of its own
    (`asyncio.wait_for`) and every read under a timer; the whole call has one deadline
    instead. Same server and connect timeout as `client`'s.

    Nor does it ask, before every command, whether a kept connection has something to
    read (redis-py's pool does: a read with a zero timeout, which costs a turn of the event
    loop and a cancelled task a command, a third of a command's CPU here). A kept
    connection has nothing left to read: every call reads its reply, and a call cut off
    (its deadline, a cancel) leaves redis-py's connection disconnected. What that check
    also finds, a connection the server closed meanwhile (a restart), shows here as the
    command failing on it: the call is then made once more on a new connection. Should a
    server have run the command before the connection broke, it runs twice: the scripts
    sent here bear that (a counter one higher, an enqueue by job id or marker made once)."""

    def __init__(self, client: Redis) -> None:
        shared = client.connection_pool
        # redis-py declares the attribute with its sync Connection among the types; this is an asyncio pool's.
        self.pool = ConnectionPool(connection_class=shared.connection_class,  # pyright: ignore[reportArgumentType]
                                   **{**shared.connection_kwargs, "socket_timeout": None})
        self._packer = self.pool.make_connection()  # never connected: packs with the pool's encoding

    def prepare(self, script: Script, keys: Sequence, args: Sequence) -> Call:
        """`script` with these keys and arguments, packed once for `call`."""
        return Call(script, keys, args, self._packer.pack_command(b"EVALSHA", script.sha, len(keys), *keys, *args))

    async def script(self, script: Script, keys: Sequence, args: Sequence):
        """EVALSHA of `script` (EVAL when Redis does not hold it yet, which loads it): its
        reply, or the error Redis answered raised."""
        return await self.call(self.prepare(script, keys, args))

    async def call(self, call: Call):
        """`script`, for a call packed already (`prepare`)."""
        async with asyncio.timeout(SOCKET_TIMEOUT_S):
            connection = self.pool.get_available_connection()
            try:
                kept = connection.is_connected
                try:
                    return await self._send(connection, call)
                except RedisConnectionError:
                    if not kept:
                        raise
                    return await self._send(connection, call)  # redis-py has disconnected it
            finally:
                await self.pool.release(connection)

    @staticmethod
    async def _send(connection, call: Call):
        await connection.connect()  # at once when connected
        await connection.send_packed_command(call.packed)
        try:
            return await connection.read_response()
        except NoScriptError:
            await connection.send_command(b"EVAL", call.script.text, len(call.keys), *call.keys, *call.args)
            return await connection.read_response()

    async def close(self) -> None:
        await self.pool.disconnect()


def lean(client: Redis | None = None) -> Lean:
    """`client`'s (the process's by default) lean calls: the process's client's made as it
    starts, another's (a test's) on first use."""
    client = client if client is not None else get()
    if client is _client and _client_lean is not None:
        return _client_lean
    made = _lean.get(client)
    if made is None:
        made = _lean[client] = Lean(client)
    return made


async def forget_lean(client: Redis) -> None:
    """Close `client`'s lean calls' connections, if it made any."""
    made = _lean.pop(client, None)
    if made is not None:
        await made.close()
