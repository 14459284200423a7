"""An arq worker that outlives a Redis outage.

arq's poll loop lets any Redis error escape: one failed ZRANGEBYSCORE or heartbeat while
Redis restarts ends `Worker.main`, and `sandbox worker` exits (seen in the Redis restart
fault test). Here a Redis connection error costs one poll: the loop backs off, keeps
polling, and picks up where it was once Redis answers. Jobs in flight finish against
PostgreSQL; anything a lost job left undone is found by the sweepers.

It also hears a stop signal at any moment: see `main`; and it polls at once when a job due
now is queued, rather than at its next turn of the poll loop: see `_hear_wakes`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path

import redis.exceptions
from arq.constants import in_progress_key_prefix
from arq.worker import Worker

from sandbox.enqueue import WAKE_CHANNEL, step_due_channel
from sandbox.health import heartbeat

log = logging.getLogger("worker.redis")

# redis-py reports a connection lost under a WATCH as WatchError (seen while claiming a
# job during the Redis restart); arq only expects that one from EXEC and handles it there.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.WatchError,
              ConnectionError, OSError)
MAX_BACKOFF_S = 1.0
ALIVE_TOUCH_EVERY_S = 1.0  # the alive file's mtime, at most this often (a poll is every 50 ms)
ALIVE_WITHIN_S = 30.0  # `sandbox worker --alive`: older than this, the loop has stopped turning
HEALTH_KEY_DELETE_S = 1.0  # at a stop: a Redis that does not answer by then is gone
# arq's methods that end a job, each run shielded in a task of its own.
_FINISHING = {"Worker.finish_job", "Worker.finish_failed_job"}


class RedisGoneJobLines(logging.Filter):
    """arq logs a job that raised at ERROR, with its traceback. A job cut short because Redis
    went away (a step's marker, a lease) is no fault of the job: the worker says Redis is
    down in its own warnings, and the sweepers take the step up again once it is back. So
    that line becomes one WARNING without the traceback, naming the error; any other
    failure keeps its level and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno >= logging.ERROR and isinstance(exc, REDIS_DOWN):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "%s (Redis unreachable: the sweepers take it up again)", (record.getMessage(),)
            record.exc_info, record.exc_text = None, None
        return True


class ResilientWorker(Worker):
    _down_polls = 0
    _stopped_picking: asyncio.Event | None = None
    _wakes: asyncio.Task | None = None  # `_hear_wakes`, from the first poll on
    # What a message on STEP_DUE_CHANNEL starts (its argument: when the message was sent, in
    # ms, or None): the `step_due` job's run in this process (worker/main.py); None: such
    # messages are not listened for, and the committer queues the job.
    run_step_due: Callable[[float | None], Coroutine[object, object, object]] | None = None
    # Wakes `step_due` again (worker/main.py): sent as the worker stops with such a run cut
    # short, as arq puts a cancelled job back in its queue.
    wake_step_due: Callable[[], Awaitable[object]] | None = None
    _woken_cut_short = False
    # Touched as the poll loop turns, Redis or not (`sandbox worker --alive`): a restart
    # cures a loop that stopped turning, not a Redis that is down.
    alive_file: Path | None = None
    _alive_at = 0.0

    def __init__(self, *args, handle_signals: bool = True, **kwargs) -> None:
        super().__init__(*args, handle_signals=False, **kwargs)
        self._handle_signals = handle_signals  # arq's `close` reads it
        self._polling = asyncio.Lock()  # one poll at a time: the loop's or a wake's
        self._woken_runs: set[asyncio.Task] = set()  # `run_step_due`'s, ended as jobs are at a stop

    async def record_health(self) -> None:
        """arq's heartbeat, its key kept three of its intervals (heartbeat.ttl_s()) instead
        of arq's interval + 1 s (sandbox/health/heartbeat.py says why)."""
        written_at = self._last_health_check
        await super().record_health()
        if self._last_health_check != written_at:  # arq wrote it now
            ttl_s = heartbeat.TTL_INTERVALS * self.health_check_interval
            await self.pool.pexpire(self.health_check_key, int(ttl_s * 1000))

    async def main(self) -> None:
        """arq adds its SIGINT and SIGTERM handlers to the loop when the worker is built,
        before the loop runs. uvloop drops a signal that arrives while its loop is not
        running: it hears them through a pipe it opens only when the loop starts. A worker
        told to stop in that moment (`sandbox up` stopped or killed just after it said
        ready, `docker stop` just after the start) then ran on and polled for ever. Added
        here, with the loop running; a signal before that has its default effect and ends
        the process, which has taken no job yet."""
        if self._handle_signals:
            self._add_signal_handler(signal.SIGINT, self.handle_sig)
            self._add_signal_handler(signal.SIGTERM, self.handle_sig)
        try:
            await super().main()
        finally:
            if self._wakes is not None:
                self._wakes.cancel()
                await asyncio.gather(self._wakes, return_exceptions=True)

    async def _poll_iteration(self) -> None:
        self._touch_alive_file()
        if self._wakes is None:  # arq's pool exists from the first poll on
            self._wakes = asyncio.create_task(self._hear_wakes())
        try:
            async with self._polling:
                await self._poll_or_back_off()
        finally:
            if not self.allow_pick_jobs and self._stopped_picking is not None:
                self._stopped_picking.set()  # this poll picked nothing: none is picking now

    async def _hear_wakes(self) -> None:
        """A poll at once whenever a job due now is queued. arq looks at its queue on a
        timer (`poll_delay`, 50 ms), so a job queued just after a poll waited for the next:
        25 ms on average from a payout's POST to its `step_due` job, half of the wait for its
        webhook at time scale 0 (docs/benchmark.md, "Time to the webhook a test waits for").
        The after-commit script that queues such a job also publishes on `WAKE_CHANNEL`
        (sandbox/enqueue.py); each message heard here is one poll more (those that came
        together, one poll), the loop's timer
        unchanged: an idle worker polls no more often than before. A wake lost (Redis
        restarting, this subscription not yet made) costs what it cost before, the wait for
        the next poll; Redis unreachable, the subscription is made again as the poll loop
        backs off.

        A message on `STEP_DUE_CHANNEL` (this database's) is a `step_due` job that nobody
        queued: the committer published it instead, as this worker listens (`run_step_due`),
        and it runs here at once (those that came together, one run). Every worker that
        hears it runs it; the claims share the due payouts (SKIP LOCKED), so the others find
        none. Each time the subscription is made, one run too: what was committed while
        this worker did not listen (Redis restarting) is stepped then, not at the next sweep."""
        failures = 0
        while True:
            pubsub = self.pool.pubsub(ignore_subscribe_messages=True)
            try:
                step_due_names = (channel := step_due_channel(self.pool), channel.encode())
                await pubsub.subscribe(*([WAKE_CHANNEL] if self.run_step_due is None else [WAKE_CHANNEL, channel]))
                failures = 0
                self._step_due_now(None)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    # The wakes heard meanwhile (a burst queues many at once): one poll, or
                    # one run, answers them all.
                    heard = [message]
                    while (message := await pubsub.get_message(timeout=0)) is not None:
                        heard.append(message)
                    step_due = [m for m in heard if m["channel"] in step_due_names]
                    if step_due:
                        self._step_due_now(_sent_ms(step_due[0]))
                    if len(step_due) < len(heard):
                        await self._poll_iteration()
            except REDIS_DOWN:
                failures += 1
                await asyncio.sleep(min(MAX_BACKOFF_S, self.poll_delay_s * 2 ** min(failures, 10)))
            finally:
                with contextlib.suppress(*REDIS_DOWN):
                    await pubsub.aclose()

    def _step_due_now(self, sent_ms: float | None) -> None:
        """`run_step_due`, in a task of its own (ended as arq's jobs are at a stop); none
        while the worker is stopping."""
        if self.run_step_due is None or not self.allow_pick_jobs:
            return
        task = asyncio.create_task(self.run_step_due(sent_ms))
        self._woken_runs.add(task)
        task.add_done_callback(self._woken_runs.discard)

    def handle_sig(self, signum) -> None:
        """arq's, which cancels the jobs it runs; and the runs woken here with them."""
        self._cut_woken_runs_short()
        super().handle_sig(signum)

    def _cut_woken_runs_short(self) -> None:
        for task in self._woken_runs:
            self._woken_cut_short = self._woken_cut_short or not task.done()
            task.cancel()

    async def _wake_again_if_cut_short(self) -> None:
        """A run cut short rolled its claim back: its payouts are due still, and no queue
        holds a job for them. Another worker (or the next to start) is woken for them now,
        not at the next sweep."""
        if not self._woken_cut_short or self.wake_step_due is None:
            return
        self._woken_cut_short = False
        try:
            await asyncio.wait_for(self.wake_step_due(), HEALTH_KEY_DELETE_S)
        except (*REDIS_DOWN, TimeoutError) as exc:
            log.warning("could not wake step_due for the steps this stop cut short (%s: %s); the next sweep "
                        "takes them", type(exc).__name__, exc)

    def _touch_alive_file(self) -> None:
        if self.alive_file is None or (now := time.monotonic()) - self._alive_at < ALIVE_TOUCH_EVERY_S:
            return
        self._alive_at = now
        self.alive_file.touch()

    async def _poll_or_back_off(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            if self._down_polls == 0:
                log.warning("Redis is unreachable (%s); the worker keeps polling until it is back", exc)
            self._down_polls += 1
            # Back off (up to 1 s) so a long outage is not a busy loop of failed connects.
            await asyncio.sleep(min(MAX_BACKOFF_S, self.poll_delay_s * 2 ** min(self._down_polls, 10)))
            return
        if self._down_polls:
            log.warning("Redis answers again after %d failed polls", self._down_polls)
            self._down_polls = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # A job this worker is running stays in the queue until it finishes, so every poll
        # meanwhile read it again, and arq asked Redis whether it runs (WATCH, EXISTS, ZSCORE,
        # UNWATCH: 3 round trips) to learn that its in-progress key is set: 4.7 such asks a
        # payout settled alone (docs/benchmark.md, "Where a payout's worker instructions and
        # WAL go"). Its own running jobs it knows without asking.
        if self.tasks:
            job_ids = [j for j in job_ids if not self._running_here(j)]
            if not job_ids:
                return
        try:
            await super().start_jobs(job_ids)
        except REDIS_DOWN:
            # arq had counted the job it was claiming and taken a slot for it before its
            # Redis pipeline failed; give both back, or each outage shrinks the worker by
            # one slot until it takes no jobs at all.
            self.job_counter -= 1
            self.sem.release()
            raise

    def _running_here(self, job_id: bytes) -> bool:
        task = self.tasks.get(job_id.decode())
        return task is not None and not task.done()

    async def stop_beside(self, main_task: asyncio.Task) -> None:
        """Stop a worker that runs on the caller's event loop (`async_run`, in tests and
        benchmarks), as a worker's shutdown should leave the queue: every job it had
        taken is handed back to run again at once.

        In order: no new job is picked (the next poll picks none, so no claim is half
        done); the poll loop ends; the jobs running are cancelled and arq puts each back
        in the queue and deletes its in-progress key; then the Redis pool closes. arq's
        `close` then cancelling the loop let the loop start jobs after the pool was gone:
        their in-progress keys stayed for the longest job timeout plus 10 s (an hour), and
        once they were the queue's oldest few hundred ids, no worker started any job
        (arq reads only the oldest `queue_read_limit` due ids each poll)."""
        self._stopped_picking = asyncio.Event()
        self.allow_pick_jobs = False
        picking_stopped = asyncio.ensure_future(self._stopped_picking.wait())
        await asyncio.wait([main_task, picking_stopped], return_when=asyncio.FIRST_COMPLETED)
        picking_stopped.cancel()
        main_task.cancel()
        await asyncio.gather(main_task, return_exceptions=True)
        for t in self.tasks.values():
            t.cancel()
        self._cut_woken_runs_short()
        await self._jobs_ended()
        # A job cancelled before it began (while arq read it) left its in-progress key:
        # nobody runs these jobs now (this is the queue's one worker), so none of their
        # keys is anyone's.
        if self.tasks:
            await self.pool.delete(*(in_progress_key_prefix + job_id for job_id in self.tasks))
        await self.close()

    async def close(self) -> None:
        """arq's `close`, once every job has ended. arq gathers the jobs without
        return_exceptions: one that a shutdown cancelled at the wrong moment made it raise,
        before it ran `on_shutdown` and closed the pool (and deleted the health key). And
        arq's deletion of the health key raised when Redis had stopped first (a compose
        stopping everything at once): `on_shutdown` never ran, so the webhook deliveries
        the worker held were not handed back (that needs only PostgreSQL) and its pools
        were left open. Here the key, if it cannot be deleted, expires on its own."""
        await self._jobs_ended()
        self.tasks.clear()
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await self._wake_again_if_cut_short()
        try:
            await asyncio.wait_for(self.pool.delete(self.health_check_key), HEALTH_KEY_DELETE_S)
        except (*REDIS_DOWN, TimeoutError) as exc:
            log.warning("could not delete the worker's health key (%s: %s); it expires within seconds",
                        type(exc).__name__, exc)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None

    async def _jobs_ended(self) -> None:
        await asyncio.gather(*self.tasks.values(), *self._woken_runs, return_exceptions=True)
        # A job cancelled while arq was finishing it leaves arq's shielded finish (its own
        # task) running: it needs the pool, so it ends before the pool closes.
        finishing = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") in _FINISHING]
        await asyncio.gather(*finishing, return_exceptions=True)


def _sent_ms(message: dict) -> float | None:
    """When a wake's message was sent (ms since the epoch), as the committer wrote it."""
    try:
        return float(message["data"])
    except (TypeError, ValueError):
        return None
