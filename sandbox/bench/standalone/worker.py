"""How fast one worker moves payouts through their scenario at time scale 0.

    uv run python -m sandbox.bench.standalone.worker [--payouts 1000] [--merchants 1] [--suffix 0001] [--max-jobs 50]

Creates the payouts first (through the service, not HTTP; spread evenly over
`--merchants` merchants, whose balance rows the worker's postings queue on), then starts one arq worker
and reports payouts fully processed per second. Uses SANDBOX_DATABASE_URL /
SANDBOX_REDIS_URL when set, otherwise embedded servers in a temporary directory."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import uvloop  # as `sandbox worker` runs (worker/main.py)

from sandbox.bench.harness import stores
from sandbox.runtime.embedded import servers_for_a_run


async def run(payouts: int, suffix: str, database_url: str, redis_url: str, max_jobs: int = 50,
              merchants: int = 1) -> dict:
    os.environ.update(SANDBOX_TIME_SCALE="0", SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url)
    from sandbox import db, onboarding
    from sandbox.payouts.lifecycle import service
    from sandbox.payouts.model import states
    from sandbox.payouts.model.schemas import DestinationIn, PayoutCreate
    from worker.main import build_worker

    await stores.open_fresh(database_url, redis_url)
    opened = [await onboarding.open_merchant(f"bench {i}", payouts * 100_00) for i in range(merchants)]
    ids = [m.id for m in opened]
    body = PayoutCreate(amount="1.00", destination=DestinationIn(type="bank", bank_code="HBL",
                                                                 account_number="123456789" + "0" + suffix))
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            await service.create(ids[i % merchants], body)

    await asyncio.gather(*[one(i) for i in range(payouts)])
    created_s = time.perf_counter() - t0

    worker = build_worker(max_jobs=max_jobs, shared_connections=True)
    t1, cpu1 = time.perf_counter(), time.process_time()
    task = asyncio.create_task(worker.async_run())
    while True:
        left = await db.fetchval(
            "SELECT count(*) FROM payout WHERE merchant = ANY($1::varchar[]) AND status <> ALL($2::varchar[])",
            ids, [s.value for s in states.FINAL],
        )
        if left == 0:
            break
        await asyncio.sleep(0.05)
    processed_s = time.perf_counter() - t1
    # This process's CPU time (the worker's, PostgreSQL and Redis excluded): steadier than
    # the rate when other work shares the machine.
    cpu_s = time.process_time() - cpu1
    await worker.stop_beside(task)
    return {
        "payouts": payouts,
        "suffix": suffix,
        "create_s": round(created_s, 2),
        "process_s": round(processed_s, 2),
        "payouts_per_s": round(payouts / processed_s, 1),
        "worker_cpu_ms_per_payout": round(cpu_s * 1000 / payouts, 3),
        "max_jobs": max_jobs,
        "merchants": merchants,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--merchants", type=int, default=1, help="merchants the payouts are spread over (default 1)")
    parser.add_argument("--suffix", default="0001")
    parser.add_argument("--max-jobs", type=int, default=50, help="arq max_jobs (default 50, as `sandbox worker`)")
    args = parser.parse_args()

    with servers_for_a_run("sandbox-bench-") as (database_url, redis_url):
        print(uvloop.run(run(args.payouts, args.suffix, database_url, redis_url, args.max_jobs, args.merchants)))


if __name__ == "__main__":
    main()
