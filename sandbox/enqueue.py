"""Enqueueing work for the arq worker. Jobs take ids and reload state, so a job that
runs twice, late, or after its payout moved on does nothing harmful.

A copy of arq's algorithm, kept under the house rule for copies: a library's algorithm
is not written again, except where the library needs several round trips on a hot path
and one round trip does the same; then the copy lives in one file naming the library
version it follows, a differential test drives the copy and the library with the same
random inputs and asserts the same decisions and state, and a benchmark shows the gain.

- Follows: arq 0.28.0, `ArqRedis.enqueue_job` (arq/connections.py). `enqueue` writes
  what it writes (the pickled job under `arq:job:<id>` with its expiry, the id in the
  queue's sorted set scored by when it is due) and skips a job whose id is queued or
  has a result, as it does, in one Lua script: one round trip instead of arq's three
  (WATCH, EXISTS, MULTI/EXEC). Delays are never negative here (`_delay` clamps).
- Why it pays: a payout enqueues its next step after every status change, on the API
  and the worker alike, and the EVAL rides in the transaction's one after-commit
  pipeline beside the other Redis commands it sends anyway; arq's WATCH transaction
  cannot be pipelined, so each job would cost its own three round trips.
- Differential test: tests/enqueue/test_queue_matches_arq.py (hypothesis; it also fails
  when the installed arq is not the version named here).
- Benchmark: `python -m sandbox.bench.standalone.enqueue` (figures in docs/benchmark.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from sandbox import db, redis_client
from sandbox.core.batching import Batcher
from sandbox.core.clock import now

# KEYS: job key, result key, queue. ARGV: expiry ms, job bytes, score ms, job id.
_ENQUEUE = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
# The same, only if KEYS[4] (a marker meaning "such a job is queued and has not started")
# can be set (ARGV[5]: its TTL in ms): many emitters, one queued job, one round trip.
_ENQUEUE_UNLESS_MARKED = """
if not redis.call('set', KEYS[4], '1', 'NX', 'PX', ARGV[5]) then return 0 end
""" + _ENQUEUE
_script = None
_script_client = None

log = logging.getLogger("sandbox.queue")

# Redis commands a transaction sends once it commits, per transaction: one pipeline.
_after_commit: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The same for a write that is one statement outside any transaction (see `one_pipeline`).
_gathering: ContextVar[list | None] = ContextVar("sandbox_redis_gathering", default=None)


def _script_args(client, function: str, args: tuple, job_id: str | None, delay: timedelta | None):
    job_id = job_id or uuid4().hex
    defer_ms = round(delay.total_seconds() * 1000) if delay is not None and delay.total_seconds() > 0 else 0
    enqueued_ms = timestamp_ms()
    job = serialize_job(function, args, {}, None, enqueued_ms, serializer=client.job_serializer)
    return ([job_key_prefix + job_id, result_key_prefix + job_id, default_queue_name],
            [defer_ms + client.expires_extra_ms, job, enqueued_ms + defer_ms, job_id])


async def enqueue(function: str, *args, job_id: str | None = None, delay: timedelta | None = None) -> bool:
    """Queue `function(*args)`, due after `delay`. False when a job with this id exists."""
    client = redis_client.get()
    global _script, _script_client
    if _script is None or _script_client is not client:  # one registration per client (tests restart it)
        _script, _script_client = client.register_script(_ENQUEUE), client
    keys, argv = _script_args(client, function, args, job_id, delay)
    return bool(await _script(keys=keys, args=argv))


async def redis_after_commit(add: Callable[[Any], None], *, once: str | None = None,
                             covered_by: str | None = None) -> None:
    """Have `add(pipeline)` queue Redis commands to send once the current transaction
    commits (at once without one). Everything one transaction adds goes in one pipeline,
    one round trip: a payout's next step and its balance summary invalidation together,
    a batch chunk's hundreds of first steps together; and writes that commit meanwhile
    share it (`_send`). `once`: a key naming what `add` does, when one such command
    after several commits serves them all (a wake, a version bump); `covered_by`: the
    `once` key of another command that does this one's work too, when it goes in the same
    pipeline (then this one is not sent)."""
    if once is not None:
        add = _Once(once, add, covered_by)
    tx = db.current()
    if tx is None:
        gathering = _gathering.get()
        if gathering is not None:
            gathering.append(add)
        else:
            await _send([add])
        return
    adds = _after_commit.get(tx)
    if adds is None:
        adds = _after_commit[tx] = []
        await db.after_commit(lambda: _send(adds))
    adds.append(add)


@contextlib.asynccontextmanager
async def one_pipeline() -> AsyncIterator[None]:
    """After a write that committed by itself (one statement, no transaction): the Redis
    commands `redis_after_commit` is given inside the block go in one pipeline at its
    end, as a transaction's do when it commits. Like those, a failure is logged, not
    raised: the write is committed, and the sweepers make up for a lost follow-up."""
    adds: list = []
    token = _gathering.set(adds)
    try:
        yield
    finally:
        _gathering.reset(token)
    if adds:
        try:
            await _send(adds)
        except Exception:
            log.exception("after-commit Redis pipeline failed")


class _Once:
    """A command one pipeline needs once, however many committed writes asked for it: a
    wake (`enqueue_unless_marked_after_commit`) or a version bump. It is sent after every
    one of their commits, so one serves them all."""

    __slots__ = ("add", "covered_by", "key")

    def __init__(self, key: str, add: Callable[[Any], None], covered_by: str | None = None) -> None:
        self.key, self.add, self.covered_by = key, add, covered_by

    def __call__(self, pipe) -> None:
        self.add(pipe)


async def _send(adds: list) -> None:
    """Send one write's commands. This process's writes that commit while a pipeline is out
    go together in the next one (`core.batching`), and a command several of them need
    once (`_Once`) goes once. Each caller returns when its own commands were sent (or
    raises what sending them raised), as with a pipeline of its own: under load, one
    round trip and one pipeline's work serve many POSTs (figures in docs/benchmark.md)."""
    await _SENDER.submit(adds)


async def _pipeline(batch: list[list]) -> list[Exception | None]:
    """The writes' commands in one pipeline; for each write, None or why its commands
    could not be built (that write's failure alone)."""
    results: list[Exception | None] = [None] * len(batch)
    try:
        client = redis_client.get()
    except RuntimeError:  # a process without Redis (migrate, seed): it cached and queued nothing
        return results
    # One deadline for the whole pipeline, as for single commands (redis_client.py): a
    # pipeline does not go through the client's per-command one, and against a frozen
    # Redis it would queue behind the pool's lock, holding the request's answer.
    async with asyncio.timeout(redis_client.SOCKET_TIMEOUT_S), client.pipeline(transaction=False) as pipe:
        sent_once: set[str] = set()
        present = {add.key for adds in batch for add in adds if isinstance(add, _Once)}
        for i, adds in enumerate(batch):
            try:
                for add in adds:
                    if isinstance(add, _Once) and (add.key in sent_once or add.covered_by in present):
                        continue
                    add(pipe)
                    if isinstance(add, _Once):  # marked once built: a command that failed is still owed
                        sent_once.add(add.key)
            except Exception as exc:  # a command that cannot be built fails its own write only
                results[i] = exc
        await pipe.execute()
    return results


_SENDER: Batcher[list, None] = Batcher(_pipeline)


async def enqueue_after_commit(function: str, *args, job_id: str | None = None, due: datetime | None = None) -> None:
    """Queue a job, due at `due` (at once when None or past), once the current transaction
    commits; with the transaction's other Redis commands (see `redis_after_commit`)."""

    def add(pipe) -> None:
        # Built when sent: the delay counts from the commit. EVAL, not the registered
        # script: a pipeline would first ask Redis whether the script is loaded.
        keys, argv = _script_args(redis_client.get(), function, args, job_id, _delay(due))
        pipe.eval(_ENQUEUE, len(keys), *keys, *argv)

    await redis_after_commit(add)


async def enqueue_unless_marked_after_commit(function: str, marker: str, marker_ttl_ms: int, *,
                                            unless_waking: str | None = None) -> None:
    """Queue `function()` once the current transaction commits, unless `marker` is set (a
    job is queued already and will see what this transaction committed); sets the marker.
    In the transaction's one after-commit pipeline, not a round trip of its own. Not at
    all when the same pipeline wakes the job of marker `unless_waking`, which does this
    one's work too."""

    def add(pipe) -> None:
        keys, argv = _script_args(redis_client.get(), function, (), None, None)
        pipe.eval(_ENQUEUE_UNLESS_MARKED, 4, *keys, marker, *argv, marker_ttl_ms)

    await redis_after_commit(add, once=f"wake:{marker}",
                             covered_by=f"wake:{unless_waking}" if unless_waking is not None else None)


def _delay(due: datetime | None) -> timedelta | None:
    return None if due is None else max(due - now(), timedelta(0))
