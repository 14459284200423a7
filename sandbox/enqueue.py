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
  and the worker alike, and the enqueue rides in the transaction's one after-commit
  script call beside the other Redis commands it sends anyway (`_AFTER_COMMIT`); arq's
  WATCH transaction cannot be folded in, so each job would cost its own three round trips.
- Differential test: tests/enqueue/test_queue_matches_arq.py (hypothesis; it also fails
  when the installed arq is not the version named here).
- Benchmark: `python -m sandbox.bench.standalone.enqueue` (figures in docs/benchmark.md)."""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import msgspec
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
# Where a script that queued a job due now says so: the worker polls at once when it hears
# it (worker/resilient.py, `_hear_wakes`) rather than at its next turn of the poll loop.
WAKE_CHANNEL = "sandbox:worker:wake"
# Where `wake_unless_marked` wakes a worker's own run of the `step_due` job (the message is
# the time it was sent, in ms): a worker that hears it runs the job at once, in the
# process, without arq queueing, claiming and finishing it (worker/resilient.py). One
# channel per Redis database (`step_due_channel`): channels are the server's, not a
# database's, and a sandbox on another database of the same server that heard the wake
# would leave this one's job unqueued.
STEP_DUE_CHANNEL = "sandbox:worker:step_due"


def step_due_channel(client) -> str:
    """STEP_DUE_CHANNEL for the database `client` (a redis-py client) uses."""
    return f"{STEP_DUE_CHANNEL}:{client.connection_pool.connection_kwargs.get('db', 0)}"
# The Redis commands of writes that committed, in one script call (see `Commands`): ARGV[1]
# is a JSON list of operations, each its name and then its arguments (text), and each takes
# its keys from KEYS in turn; an enqueue's job (pickled bytes, which JSON cannot carry) is
# the next of ARGV[2...]. `enqueue` is `_ENQUEUE` above; `enqueue_unless_marked` the same,
# only if its marker (a key meaning "such a job is queued and has not started") can be set;
# `wake_unless_marked` publishes on a channel instead where its marker can be set, and
# queues the job only when nobody heard it (no worker listens: one starting, or of a
# release before this one, finds the job in the queue as before).
# Every operation runs, as every command of a pipeline did, and the first error is answered
# once all have run.
_AFTER_COMMIT = redis_client.Script("""
local failed
local function call(...)
    local reply = redis.pcall(...)
    if type(reply) == 'table' and reply.err then
        failed = failed or reply
        return nil
    end
    return reply
end
local woken = false
local function enqueue(k, expiry, job, score, id, now)
    if call('exists', KEYS[k], KEYS[k + 1]) ~= 0 then return end
    call('psetex', KEYS[k], expiry, job)
    call('zadd', KEYS[k + 2], score, id)
    woken = woken or now
end
local k, j = 1, 2
for _, op in ipairs(cjson.decode(ARGV[1])) do
    local name = op[1]
    if name == 'incrby_expire' then
        call('incrby', KEYS[k], op[2])
        call('expire', KEYS[k], op[3])
        k = k + 1
    elseif name == 'enqueue' then
        enqueue(k, op[2], ARGV[j], op[3], op[4], op[5])
        k, j = k + 3, j + 1
    elseif name == 'enqueue_unless_marked' then
        if call('set', KEYS[k], '1', 'NX', 'PX', op[2]) then enqueue(k + 1, op[3], ARGV[j], op[4], op[5], op[6]) end
        k, j = k + 4, j + 1
    elseif name == 'wake_unless_marked' then
        if call('set', KEYS[k], '1', 'NX', 'PX', op[2]) and (call('publish', op[3], op[5]) or 0) == 0 then
            enqueue(k + 1, op[4], ARGV[j], op[5], op[6], op[7])
        end
        k, j = k + 4, j + 1
    else
        return redis.error_reply('unknown operation ' .. tostring(name))
    end
end
if woken then call('publish', '%s', '') end
if failed then return failed end
return k - 1
""" % WAKE_CHANNEL)
_script = None
_script_client = None

log = logging.getLogger("sandbox.queue")

# Redis commands a transaction sends once it commits, per transaction: one script call.
_after_commit: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The same for a write that is one statement outside any transaction (see `one_call`).
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


def _due_now(score_ms) -> bool:
    """Whether a job scored `score_ms` in the queue is due already: queued, it wakes the worker."""
    return int(score_ms) <= timestamp_ms()


class Commands:
    """What writes that committed ask of Redis, gathered into one call of `_AFTER_COMMIT`
    (one EVALSHA through redis_client.Lean): the `add` given to `redis_after_commit` calls
    these. One command sent, where a pipeline of each command (INCRBY, EXPIRE, EVAL of an
    enqueue...) cost redis-py's work for each, on every POST; and its operations as one
    argument, where redis-py packs each argument in Python (docs/benchmark.md)."""

    __slots__ = ("jobs", "keys", "operations")

    def __init__(self) -> None:
        self.keys: list[bytes] = []  # encoded here: bytes are what redis-py's packing checks for first
        self.operations: list[tuple] = []
        self.jobs: list[bytes] = []

    def incrby_expire(self, key: str, amount: int, seconds: int) -> None:
        """INCRBY `key` `amount`, then EXPIRE `key` `seconds`."""
        self.keys.append(key.encode())
        self.operations.append(("incrby_expire", str(amount), str(seconds)))

    def enqueue(self, keys: list, argv: list) -> None:
        """`_ENQUEUE` with these keys and arguments (`_script_args`)."""
        expiry_ms, job, score_ms, job_id = argv
        job_key, result_key, queue = keys
        self.keys += (job_key.encode(), result_key.encode(), queue.encode())
        self.operations.append(("enqueue", str(expiry_ms), str(score_ms), job_id, _due_now(score_ms)))
        self.jobs.append(job)

    def enqueue_unless_marked(self, marker: str, marker_ttl_ms: int, keys: list, argv: list,
                              channel: str | None = None) -> None:
        """SET `marker` NX PX `marker_ttl_ms`, and `enqueue` only if it was set. With
        `channel` (`wake_unless_marked`): once it was set, PUBLISH there (the job's score,
        ms) and `enqueue` only if nobody heard it."""
        expiry_ms, job, score_ms, job_id = argv
        job_key, result_key, queue = keys
        self.keys += (marker.encode(), job_key.encode(), result_key.encode(), queue.encode())
        ttl = str(marker_ttl_ms)
        head = ("enqueue_unless_marked", ttl) if channel is None else ("wake_unless_marked", ttl, channel)
        self.operations.append((*head, str(expiry_ms), str(score_ms), job_id, _due_now(score_ms)))
        self.jobs.append(job)

    def arguments(self) -> tuple:
        return (msgspec.json.encode(self.operations), *self.jobs)


async def redis_after_commit(add: Callable[[Commands], None], *, once: str | None = None,
                             covered_by: str | None = None) -> None:
    """Have `add(commands)` ask for Redis commands (`Commands`) to send once the current
    transaction commits (at once without one). Everything one transaction adds goes in one
    script call, one round trip: a payout's next step and its ledger version's bump
    together, a batch chunk's hundreds of first steps together; and writes that commit
    meanwhile share it (`_send`). `once`: a key naming what `add` does, when one such
    command after several commits serves them all (a wake, a version bump); `covered_by`:
    the `once` key of another command that does this one's work too, when it goes in the
    same call (then this one is not sent)."""
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
async def one_call() -> AsyncIterator[None]:
    """After a write that committed by itself (one statement, no transaction): the Redis
    commands `redis_after_commit` is given inside the block go in one call at its end, as
    a transaction's do when it commits. Like those, a failure is logged, not
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
            log.exception("after-commit Redis commands failed")


class _Once:
    """A command one call needs once, however many committed writes asked for it: a
    wake (`enqueue_unless_marked_after_commit`) or a version bump. It is sent after every
    one of their commits, so one serves them all."""

    __slots__ = ("add", "covered_by", "key")

    def __init__(self, key: str, add: Callable[[Any], None], covered_by: str | None = None) -> None:
        self.key, self.add, self.covered_by = key, add, covered_by

    def __call__(self, commands: Commands) -> None:
        self.add(commands)


async def _send(adds: list) -> None:
    """Send one write's commands. This process's writes that commit while a call is out go
    together in the next one (`core.batching`), and a command several of them need once
    (`_Once`) goes once. Each caller returns when its own commands were sent (or raises
    what sending them raised), as with a call of its own: under load, one round trip
    serves many POSTs (figures in docs/benchmark.md)."""
    await _SENDER.submit(adds)


async def _call(batch: list[list]) -> list[Exception | None]:
    """The writes' commands in one script call; for each write, None or why its commands
    could not be built (that write's failure alone)."""
    results: list[Exception | None] = [None] * len(batch)
    try:
        client = redis_client.get()
    except RuntimeError:  # a process without Redis (migrate, seed): it cached and queued nothing
        return results
    commands = Commands()
    sent_once: set[str] = set()
    present = {add.key for adds in batch for add in adds if isinstance(add, _Once)}
    for i, adds in enumerate(batch):
        try:
            for add in adds:
                if isinstance(add, _Once) and (add.key in sent_once or add.covered_by in present):
                    continue
                add(commands)
                if isinstance(add, _Once):  # marked once built: a command that failed is still owed
                    sent_once.add(add.key)
        except Exception as exc:  # a command that cannot be built fails its own write only
            results[i] = exc
    if commands.operations:
        # One deadline for the whole call, as for single commands (redis_client.Lean).
        await redis_client.lean(client).script(_AFTER_COMMIT, commands.keys, commands.arguments())
    return results


_SENDER: Batcher[list, None] = Batcher(_call, inline=True)


async def enqueue_after_commit(function: str, *args, job_id: str | None = None, due: datetime | None = None) -> None:
    """Queue a job, due at `due` (at once when None or past), once the current transaction
    commits; with the transaction's other Redis commands (see `redis_after_commit`)."""

    def add(commands: Commands) -> None:
        # Built when sent: the delay counts from the commit.
        keys, argv = _script_args(redis_client.get(), function, args, job_id, _delay(due))
        commands.enqueue(keys, argv)

    await redis_after_commit(add)


async def enqueue_unless_marked_after_commit(function: str, marker: str, marker_ttl_ms: int, *,
                                            unless_waking: str | None = None,
                                            channel: Callable[[Any], str] | None = None) -> None:
    """Queue `function()` once the current transaction commits, unless `marker` is set (a
    job is queued already and will see what this transaction committed); sets the marker.
    In the transaction's one after-commit call, not a round trip of its own. Not at
    all when the same call wakes the job of marker `unless_waking`, which does this
    one's work too. With `channel` (the channel for a client): published there instead,
    and queued only if no worker heard it (`wake_unless_marked`)."""

    def add(commands: Commands) -> None:
        client = redis_client.get()
        keys, argv = _script_args(client, function, (), None, None)
        commands.enqueue_unless_marked(marker, marker_ttl_ms, keys, argv,
                                       channel=None if channel is None else channel(client))

    await redis_after_commit(add, once=f"wake:{marker}",
                             covered_by=f"wake:{unless_waking}" if unless_waking is not None else None)


def _delay(due: datetime | None) -> timedelta | None:
    return None if due is None else max(due - now(), timedelta(0))
