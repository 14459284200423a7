"""`sandbox bench`'s phases where the API and the worker run at once, as under `sandbox up`:

- POST /payouts spread over the merchants while one `sandbox worker` process settles
  payouts (the backlog the earlier phases left, and what the POSTs add): the create
  rate a user load-testing `sandbox up` sees, and the worker's rate beside it;
- with `--batch N`: an N-row CSV uploaded to a fresh API process while one worker runs
  (`sandbox.bench.standalone.batch`): when every payout existed, when every payout was final, and
  the API's peak RSS before and after the upload.

Imported by `run.measure` when it gets there."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from sandbox.bench.harness.load import wrk
from sandbox.bench.harness.procs import READY_TIMEOUT_S, spawn, stop, wait_api
from sandbox.bench.harness.stack import Stack, with_db
from sandbox.bench.phases import STEP_EVENTS, count_steps, count_unsettled
from sandbox.bench.standalone import batch as batch_bench


def _start_worker(stack: Stack):
    proc = spawn([sys.executable, "-m", "sandbox.cli", "worker"], stack.env, stack.logs / "worker.log")
    stack.procs.append(proc)
    return proc


async def _first_step(stack: Stack, proc) -> None:
    """Until the worker applies a step (it is up and working), or nothing is left to settle."""
    before = await count_steps()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while await count_steps() == before and await count_unsettled() > 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the worker applied no step; see {stack.logs / 'worker.log'}")
        await asyncio.sleep(0.02)


def post_while_settling(stack: Stack, url: str, keys: Path, tag: str, *, duration: float, connections: int,
                        threads: int) -> dict:
    """POST /payouts with wrk while one worker process settles payouts."""
    proc = _start_worker(stack)
    asyncio.run(with_db(stack, lambda: _first_step(stack, proc)))
    before = asyncio.run(with_db(stack, count_steps))
    load = wrk(url, "post_payouts.lua", [str(keys), tag], duration=duration, connections=connections,
               threads=threads)
    steps = asyncio.run(with_db(stack, count_steps)) - before
    stop(proc)
    settled = steps / len(STEP_EVENTS) / load.seconds if load.seconds else 0.0
    return {**load.as_dict(), "worker_settled_per_s": round(settled, 1)}


def batch_phase(stack: Stack, rows: int) -> dict:
    """An N-row batch through a fresh API process and one worker, until every payout is
    final (the phases before leave a backlog; the worker settles it beside the batch)."""
    log = stack.logs / "api-batch.log"
    api = spawn([sys.executable, "-m", "sandbox.cli", "api"], stack.env, log)
    stack.procs.append(api)
    # The IPN service takes the rail's callbacks: without it `…0004` payouts never end.
    ipn = spawn([sys.executable, "-m", "sandbox.cli", "ipn"], stack.env, stack.logs / "ipn.log")
    stack.procs.append(ipn)
    wait_api(stack.api_url, api, log)
    worker = _start_worker(stack)
    try:
        return asyncio.run(batch_bench.measure(rows, True, stack.env, api.pid, stack.api_url + "/api/v1",
                                               stack.admin_key))
    finally:
        for proc in (worker, ipn, api):
            stop(proc)
