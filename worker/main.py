"""The arq worker: advances payouts through their scenarios, sends the rail's callbacks,
and sweeps up anything a lost job or a killed worker left behind."""

from __future__ import annotations

import httpx
from arq import cron, func
from arq.worker import Worker

from sandbox import db
from sandbox.core import redis as redis_client
from sandbox.payouts.schedule import STEP_JOB
from sandbox.rail.client import NOTIFY_JOB
from sandbox.settings import get_settings
from worker import batches as batch_jobs
from worker import jobs, webhooks
from worker import settlements as settlement_jobs
from worker.resilient import ResilientWorker


async def startup(ctx: dict) -> None:
    if not ctx.get("shared_connections"):
        settings = get_settings()
        db.configure(settings.database_url)
        await db.start(settings.db_pool_min, settings.db_pool_max)
        # Steps enqueue the next step through the same pool the API uses.
        await redis_client.start(settings.redis_url)
    ctx["http"] = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    await webhooks.startup(ctx)


async def shutdown(ctx: dict) -> None:
    await webhooks.shutdown(ctx)
    if "http" in ctx:
        await ctx["http"].aclose()
    if not ctx.get("shared_connections"):
        await redis_client.stop()
        await db.stop()


def build_worker(burst: bool = False, max_jobs: int = 50, shared_connections: bool = False) -> Worker:
    """`shared_connections`: the process already runs the database and Redis pools (tests
    and benchmarks that run a worker beside the API); the worker neither opens nor closes them."""
    settings = get_settings()
    if not settings.database_url or not settings.redis_url:
        raise SystemExit("SANDBOX_DATABASE_URL and SANDBOX_REDIS_URL must be set for `sandbox worker`")
    return ResilientWorker(
        functions=[
            # keep_result=0: a finished step's job id may be used again (a reinitiated payout
            # walks the same steps), and nothing reads job results.
            func(jobs.step_payout, name=STEP_JOB, keep_result=0, max_tries=5, timeout=30),
            func(jobs.rail_notify, name=NOTIFY_JOB, keep_result=0, max_tries=len(jobs.RAIL_RETRY_S) + 1, timeout=30),
            *webhooks.FUNCTIONS,
            *batch_jobs.FUNCTIONS,
        ],
        cron_jobs=[
            cron(jobs.sweep, name="sweep", second=set(range(0, 60, max(1, settings.sweep_every_s))), run_at_startup=True,
                 keep_result=0, timeout=60),
            *webhooks.cron_jobs(settings),
            *settlement_jobs.cron_jobs(settings),
            *batch_jobs.cron_jobs(settings),
        ],
        redis_settings=redis_client.redis_settings(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        max_jobs=max_jobs,
        poll_delay=0.05,
        handle_signals=True,
        keep_result=0,
        ctx={"shared_connections": shared_connections},
    )


def run() -> None:
    build_worker().run()


def check() -> int:
    """`sandbox worker --check`: placeholder until issue 6 wires arq's health check."""
    raise SystemExit("sandbox worker --check: not built yet")
