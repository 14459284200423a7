"""redis_client.Lean, the hot path's script calls (the rate limiter's, a write's after-commit
commands): it skips redis-py's pool check before each command (a read with a zero
timeout), so what that check is for is tested here: a connection the server closed is
found when a call fails on it, and the call is made again on a new one, once; a call cut
off by its deadline leaves nothing behind for the next; a script Redis does not hold is
loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from unittest import mock

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from sandbox import redis_client
from tests.helpers import wait_for

SCRATCH_DB = 13  # not the database the app and worker use
NAME = "sandbox-test-lean"  # the connections' name (the lean calls' pool copies its client's settings)
COUNT = redis_client.Script("return redis.call('incr', KEYS[1])")
# Holds Redis about a second (a script cannot sleep), then answers its argument.
SLOW = redis_client.Script("""
local started = redis.call('time')
repeat local now = redis.call('time')
until (now[1] - started[1]) * 1000000 + (now[2] - started[2]) > 1000000
return ARGV[1]
""")


@pytest.fixture
async def lean(servers) -> AsyncIterator[tuple[Redis, redis_client.Lean]]:
    client = Redis.from_url(servers[1], db=SCRATCH_DB, client_name=NAME)
    await client.flushdb()
    try:
        yield client, redis_client.lean(client)
    finally:
        await client.flushdb()
        await redis_client.forget_lean(client)
        await client.aclose()


async def lean_connection_ids(client: Redis) -> list[str]:
    """The server's ids of the lean calls' connections (named as `client`'s, less its own)."""
    me = await client.client_id()
    return [c["id"] for c in await client.client_list() if c["name"] == NAME and c["id"] != str(me)]


async def idle(client: Redis) -> bool:
    """Whether Redis runs commands again (it answers BUSY while a script runs)."""
    try:
        await client.get("test:count")
    except ResponseError as exc:
        if "BUSY" in str(exc):
            return False
        raise
    return True


async def test_a_connection_the_server_closed_is_replaced_and_the_script_runs_once(lean) -> None:
    client, calls = lean
    assert await calls.script(COUNT, ["test:count"], []) == 1
    [kept] = await lean_connection_ids(client)
    await client.client_kill_filter(_id=kept)  # as a restart or the server's idle timeout does

    assert await calls.script(COUNT, ["test:count"], []) == 2  # once more, not twice
    assert kept not in await lean_connection_ids(client)


async def test_a_call_cut_by_its_deadline_leaves_no_reply_for_the_next(lean) -> None:
    client, calls = lean
    with mock.patch.object(redis_client, "SOCKET_TIMEOUT_S", 0.2), pytest.raises(TimeoutError):
        await calls.script(SLOW, [], ["late"])
    await wait_for(lambda: idle(client), timeout=30, what="the slow script's end")
    assert await calls.script(COUNT, ["test:count"], []) == 1  # its own reply, not the slow one's


async def test_a_script_redis_does_not_hold_is_loaded(lean) -> None:
    client, calls = lean
    await client.script_flush()
    assert await calls.script(COUNT, ["test:count"], []) == 1
    assert await client.script_exists(COUNT.sha.decode()) == [True]
