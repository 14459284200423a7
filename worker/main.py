"""The arq worker: advances payouts through their scenarios, sends the rail's callbacks,
and sweeps up anything a lost job or a killed worker left behind.

The jobs, the database layer and the metrics are imported inside the functions that use
them: `sandbox worker --check` imports this module too, and as a container health check
it runs every few seconds and needs only arq and Redis, so it should not pay for
importing the rest (figures in docs/benchmark.md)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import functools
import logging
import os
import sys
import time
import uuid
from typing import TYPE_CHECKING

import uvloop
from arq import Retry, cron, func
from arq.connections import create_pool

from sandbox import redis_client
from sandbox.core import heap

# arq's key: written every heartbeat.interval_s(), kept heartbeat.ttl_s()
from sandbox.health import heartbeat
from sandbox.health.heartbeat import HEALTH_KEY, PRIORITY_KEY
from sandbox.observability import logs
from sandbox.settings import get_settings

if TYPE_CHECKING:
    from worker.resilient import ResilientWorker

log = logging.getLogger("worker.jobs")

# The worker's connections' PostgreSQL settings: each statement planned once (see `startup`).
WORKER_SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}


async def startup(ctx: dict) -> None:
    import httpx

    from sandbox import db
    from sandbox.observability import metrics
    from sandbox.runtime import backend_nice
    from worker import webhooks

    if not ctx.get("shared_connections"):
        settings = get_settings()
        assert settings.database_url and settings.redis_url  # build_worker refuses to start without them
        db.configure(settings.database_url)
        # Its PostgreSQL server processes at its own niceness: half its work runs there.
        # Each statement planned once per connection (a generic plan): PostgreSQL otherwise
        # plans the worker's claims afresh on every call, since a plan for the moment's
        # values looks cheaper, and picks a worse one from the queue tables' ever-stale
        # statistics (figures in docs/benchmark-history.md, 27 Nov).
        await db.start(settings.db_pool_min, settings.db_pool_max, settings.worker_statement_timeout_s,
                       init=backend_nice.for_pool(settings.worker_nice, settings.database_url),
                       server_settings=WORKER_SERVER_SETTINGS)
        # Steps enqueue the next step through the same pool the API uses.
        redis = await redis_client.start(settings.redis_url)
        # Where its server processes could not be niced, why, for `sandbox status`.
        if backend_nice.Refusals.last is None:
            await redis.delete(PRIORITY_KEY)
        else:
            await redis.set(PRIORITY_KEY, backend_nice.Refusals.last)
        # Job timings go to Redis for the API's /metrics (a process sharing connections
        # with an API runs that API's flusher already).
        ctx["metrics_flusher"] = metrics.Flusher(settings.metrics_flush_s)
        ctx["metrics_flusher"].start()
    ctx["http"] = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    await webhooks.startup(ctx)
    settings = get_settings()
    if settings.debug_memory_every_s:
        from sandbox.observability.memory import MemoryReports

        ctx["memory_reports"] = MemoryReports(settings.debug_memory_every_s, settings.data_dir)
        ctx["memory_reports"].start()


async def shutdown(ctx: dict) -> None:
    from sandbox import db
    from sandbox.runtime import shutdown as shutdown_steps
    from worker import webhooks

    steps = [("the webhook senders", lambda: webhooks.shutdown(ctx))]
    if "memory_reports" in ctx:
        steps.append(("the memory reports", ctx["memory_reports"].stop))
    if "metrics_flusher" in ctx:
        steps.append(("the last metrics flush", ctx["metrics_flusher"].stop))
    if "http" in ctx:
        steps.append(("the HTTP client", ctx["http"].aclose))
    if not ctx.get("shared_connections"):
        steps += [("the Redis client", redis_client.stop), ("the database pool", db.stop)]
    await shutdown_steps.in_turn(*steps)


def _payout_id(args: tuple, kwargs: dict) -> str | None:
    """A step job's first argument; a rail notification's id (`po_…:track:index`)."""
    for candidate in (kwargs.get("payout_id"), *args):
        if isinstance(candidate, str) and candidate.startswith("po_"):
            return candidate.partition(":")[0]
    return None


def instrumented(name: str, coroutine, quiet: bool = False):
    """The job, plus one log line (job, job id, try, payout_id from its arguments,
    outcome, duration) and its run time and queue wait for /metrics. `quiet`: a
    successful run is logged at DEBUG (cron jobs run every second or so)."""
    from sandbox.observability import metrics

    @functools.wraps(coroutine)
    async def run(ctx: dict, *args, **kwargs):
        started = time.perf_counter()
        logs.new_context(payout_id=_payout_id(args, kwargs))
        score = ctx.get("score")  # when the job was due, in ms (its defer time for deferred jobs)
        if score:
            metrics.JOB_WAIT.observe((name,), max(0.0, time.time() - score / 1000))
        outcome, level, error = "error", logging.WARNING, None
        try:
            result = await coroutine(ctx, *args, **kwargs)
            outcome, level = "ok", logging.DEBUG if quiet else logging.INFO
            return result
        except Retry:
            outcome, level = "retry", logging.INFO
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"  # its timeout, or the worker stopping
            if (stopping := ctx.get("stopping")) and stopping.is_set():  # arq queues it again: a stop, no fault
                level = logging.INFO
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.JOB_RUN.observe((name, outcome), elapsed)
            log.log(level, "job %s %s", name, outcome, extra={
                "job": name, "job_id": ctx.get("job_id"), "job_try": ctx.get("job_try"), "outcome": outcome,
                "duration_ms": round(elapsed * 1000, 2), **({"error": error} if error else {}),
            })

    return run


def _instrument_all(jobs: list, quiet: bool = False) -> list:
    return [dataclasses.replace(job, coroutine=instrumented(job.name, job.coroutine, quiet)) for job in jobs]


def build_worker(burst: bool = False, max_jobs: int = 50, shared_connections: bool = False) -> ResilientWorker:
    """`shared_connections`: the process already runs the database and Redis pools (tests
    and benchmarks that run a worker beside the API); the worker neither opens nor closes them."""
    from sandbox.payouts.lifecycle.schedule import STEP_DUE_JOB, STEP_JOB, STEPS_JOB, wake_step_due_after_commit
    from sandbox.rail.client import NOTIFY_JOB
    from sandbox.runtime.start_gate import wait_at_gate
    from worker import batches as batch_jobs
    from worker import idempotency as idempotency_jobs
    from worker import jobs, webhooks
    from worker import requests as request_jobs
    from worker import retention as retention_jobs
    from worker import settlements as settlement_jobs
    from worker import statistics as statistics_jobs
    from worker.resilient import ResilientWorker

    # Started by `sandbox up` behind its gate, the worker has imported its jobs by now, while
    # the servers started; here it waits for their URLs (a no-op in any other process).
    wait_at_gate()
    settings = get_settings()
    if not settings.database_url or not settings.redis_url:
        raise SystemExit("SANDBOX_DATABASE_URL and SANDBOX_REDIS_URL must be set for `sandbox worker`")
    worker = ResilientWorker(
        functions=_instrument_all([
            # keep_result=0: a finished step's job id may be used again (a reinitiated payout
            # walks the same steps), and nothing reads job results.
            func(jobs.step_payout, name=STEP_JOB, keep_result=0, max_tries=5, timeout=30),
            # Runs until nothing is due; after `due_claims.JOB_BUDGET_S` it hands the rest to a fresh job.
            func(jobs.step_due, name=STEP_DUE_JOB, keep_result=0, max_tries=5, timeout=600),
            func(jobs.step_payouts, name=STEPS_JOB, keep_result=0, max_tries=5, timeout=120),
            func(jobs.rail_notify, name=NOTIFY_JOB, keep_result=0, max_tries=len(jobs.RAIL_RETRY_S) + 1, timeout=30),
            *webhooks.FUNCTIONS,
            *batch_jobs.FUNCTIONS,
        ]),
        cron_jobs=_instrument_all([
            cron(jobs.sweep, name="sweep", second=set(range(0, 60, max(1, settings.sweep_every_s))),
                 run_at_startup=True, keep_result=0, timeout=60),
            *webhooks.cron_jobs(settings),
            *settlement_jobs.cron_jobs(settings),
            *batch_jobs.cron_jobs(settings),
            *idempotency_jobs.cron_jobs(),
            *request_jobs.cron_jobs(settings),
            *retention_jobs.cron_jobs(settings),
            *statistics_jobs.cron_jobs(settings),
        ], quiet=True),
        redis_settings=redis_client.redis_settings(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        max_jobs=max_jobs,
        poll_delay=0.05,
        handle_signals=True,
        keep_result=0,
        health_check_interval=heartbeat.interval_s(),
        health_check_key=HEALTH_KEY,
        # Each job gets a copy of this dict: what changes while it runs lives in an object.
        ctx={"shared_connections": shared_connections, "stopping": asyncio.Event()},
    )
    worker.on_stop = lambda _signal: _stopping(worker.ctx)
    step_due = instrumented(STEP_DUE_JOB, jobs.step_due)

    async def run_step_due(sent_ms: float | None) -> None:
        """The `step_due` job woken by a message, run as arq would run it (its copy of the
        context, its log line and metrics: its wait counted from when the message was
        sent), without arq's queueing, claim and finish (worker/resilient.py)."""
        with contextlib.suppress(Exception):  # logged as a job's failure; the sweeper takes it up
            await step_due({**worker.ctx, "job_id": uuid.uuid4().hex, "job_try": 1, "score": sent_ms})

    worker.run_step_due = run_step_due
    worker.wake_step_due = wake_step_due_after_commit  # outside a transaction: sent at once
    return worker


# A worker still here this long after its stop signal is stuck: past the shutdown steps' 7 s
# (sandbox/runtime/shutdown.py) and `docker stop`'s 10 s, where a supervisor would have
# killed it without a word on where it was.
STOP_WATCHDOG_S = 20.0


def _stopping(ctx: dict) -> None:
    """arq calls it at SIGINT or SIGTERM, as it cancels the running jobs: the webhook pool
    starts no attempt from here on and hands back what it holds, and the jobs cancelled
    now are logged as a stop's, not as faults."""
    from worker import webhooks

    ctx["stopping"].set()
    webhooks.stop_taking(ctx)


def _stopping_process(ctx: dict) -> None:
    """`_stopping`, in a worker that is its own process (`sandbox worker`): if the process
    has not ended STOP_WATCHDOG_S after the signal, every thread's Python stack goes to
    stderr (its log) and it exits 1 (`faulthandler`). A stop under heavy load once outlived
    a test's 30 s wait with nothing in its log to say where it hung."""
    faulthandler.dump_traceback_later(STOP_WATCHDOG_S, exit=True)
    _stopping(ctx)


def run() -> None:
    settings = get_settings()
    logs.configure(settings.log_format or "json", settings.log_level)
    # arq writes two plain lines per job; ours (one, with the payout id) replaces them.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    # A job cut short by a Redis outage: one warning line, not an error with its traceback.
    from worker.resilient import RedisGoneJobLines

    logging.getLogger("arq.worker").addFilter(RedisGoneJobLines())
    log.info("worker starting", extra={"time_scale": settings.time_scale, "nice": settings.worker_nice})
    if settings.worker_nice > 0:
        os.nice(min(settings.worker_nice, 19))
    # uvloop, as the API runs under uvicorn: a worker's time goes to socket round trips,
    # which uvloop makes cheaper (figures in docs/benchmark.md).
    # arq's Worker runs on the loop that is current when it is built, so the loop is set
    # after the imports: Piccolo's engine calls asyncio.run() when its configuration is
    # imported, which leaves no current loop (the worker then ran on asyncio's own).
    import sandbox.piccolo_conf  # noqa: F401
    asyncio.set_event_loop(uvloop.new_event_loop())
    worker = build_worker()
    worker.alive_file = settings.worker_alive_file
    worker.on_stop = lambda _signal: _stopping_process(worker.ctx)
    if not isinstance(worker.loop, uvloop.Loop):
        log.warning("the worker runs on %s, not uvloop", type(worker.loop).__name__)
    heap.freeze_startup_objects()
    worker.run()


async def _read_health(url: str) -> bytes | None:
    settings = redis_client.redis_settings(url)
    settings.conn_retries = 0  # a health check answers now; its caller retries
    redis = await create_pool(settings)
    try:
        return await redis.get(HEALTH_KEY)
    finally:
        await redis.aclose()


def check() -> int:
    """`sandbox worker --check`: arq's health check. Exit 0 when a worker wrote arq's
    health key within the last heartbeat.ttl_s() seconds, else 1; one line either way.
    arq's own `check_health` reads the same key but only logs its verdict, and raises
    when Redis is down; this prints what it found and answers 1 then too."""
    url = get_settings().redis_url
    if not url:
        print("worker check: SANDBOX_REDIS_URL is not set", file=sys.stderr)
        return 1
    try:
        data = asyncio.run(_read_health(url))
    except Exception as exc:
        print(f"worker check: Redis unreachable ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    if not data:
        print(f"worker check: unhealthy, no worker recorded health in the last {heartbeat.ttl_s():g}s",
              file=sys.stderr)
        return 1
    print(f"worker check: healthy, {data.decode(errors='replace')}")
    return 0


def alive() -> int:
    """`sandbox worker --alive`: exit 0 when this container's worker touched
    SANDBOX_WORKER_ALIVE_FILE within ALIVE_WITHIN_S seconds, else 1; one line either way.
    A liveness check of one process, which `--check` (any worker of the queue) is not."""
    from worker.resilient import ALIVE_WITHIN_S

    path = get_settings().worker_alive_file
    if path is None:
        print("worker alive: SANDBOX_WORKER_ALIVE_FILE is not set", file=sys.stderr)
        return 1
    try:
        age = time.time() - path.stat().st_mtime
    except OSError as exc:
        print(f"worker alive: no alive file ({exc.strerror}: {path})", file=sys.stderr)
        return 1
    if age > ALIVE_WITHIN_S:
        print(f"worker alive: the poll loop last turned {age:.0f}s ago (more than {ALIVE_WITHIN_S:.0f}s)",
              file=sys.stderr)
        return 1
    print(f"worker alive: the poll loop turned {age:.1f}s ago")
    return 0
