"""The processes `sandbox bench --cost` counts (the API, the worker, the hello-world) and
the IPN service beside them, each with the work it does by the clock held still: what a
window counts is then the work of its requests or payouts, the same however long the
machine's load stretches the window (docs/benchmark.md#cost-counted-in-instructions).

    python -m sandbox.bench.servers.counted api|ipn|worker|hello [PORT]

Nothing here changes what a request or a job does; it changes only what the process does
while nobody asks it anything, and for how long what it remembers stays remembered:

- uvicorn's tick (API, IPN, hello-world): ten a second, it renews the Date header once a
  second and looks for a stop. Here it runs once, at the start (the header keeps that
  date, of the same length), and a stop signal ends the server at once.
- Kept connections are kept an hour, not 5 s, on both ends: the bench's own clients, the
  servers here (uvicorn's keep-alive), the worker's webhook and rail-callback clients. A
  pause longer than 5 s (a dump, a busy machine) otherwise costs a window a new connection.
- The log writer's thread (every process) wakes once an hour, not every 50 ms; each line
  is formatted and written at once instead, in the thread that logged it. The bench logs at
  the default level, INFO, as `sandbox up` does, so a request's or a job's lines are part
  of what a window counts, in full, and no timer is (a line written alone costs its own
  write call, where the writer's thread writes a batch in one: a few hundred instructions).
- Pooled PostgreSQL connections are never closed for idleness (asyncpg closes one idle
  for 5 minutes, and the next busy moment opens it again inside a window).
- The API writes a request's log entry that waits for a batch (a GET's) at once, in a batch
  of its own: the batch's size would otherwise be however many requests came within 50 ms.
  A merchant's activity is recorded once, not again each time 5 minutes have passed.
- A Redis marker that says "a job is queued to do this" (the webhook relay's, `step_due`'s)
  lasts an hour, not 2 s (API, IPN, worker): a job that a busy machine started more than
  2 s after it was queued otherwise had a second one queued beside it.
- Random ids (payouts, events, deliveries, requests, arq's jobs) come from a generator
  seeded by the process's part, the same in every run: where each lands in an index (its
  page's full image in the WAL, a page split) and the order of jobs queued in the same
  millisecond do not change from run to run.
- Deadlines a busy machine could make a counted process miss (a statement's, a Redis
  call's) are two minutes.
- The worker runs none of its periodic jobs (sweeps, prunes, settlements, statistics:
  they cost so much a minute, not so much a payout), writes its heartbeat once (the jobs
  it is running already it asks Redis about no more, as every worker now: worker/resilient.py), and keeps
  its reading of whether teams exist (read before its first delivery) rather than
  reading it again each time 5 s have passed."""

from __future__ import annotations

import asyncio
import math
import os
import sys

from sandbox.bench.harness.callgrind import HELD_S

DEADLINE_S = 120.0


def hold_uvicorn() -> None:
    """No tick after the first, a stop at once, and connections kept an hour."""
    import uvicorn

    async def main_loop(self) -> None:
        await self.on_tick(0)  # the Date header, once
        loop = asyncio.get_running_loop()
        self.bench_stopped = asyncio.Event()
        self.bench_wake = lambda: loop.call_soon_threadsafe(self.bench_stopped.set)
        if not self.should_exit:
            await self.bench_stopped.wait()

    handle_exit = uvicorn.Server.handle_exit

    def stop_now(self, sig, frame) -> None:
        handle_exit(self, sig, frame)
        if (wake := getattr(self, "bench_wake", None)) is not None:
            wake()

    config_init = uvicorn.Config.__init__

    def config(self, *args, **kwargs) -> None:
        kwargs.setdefault("timeout_keep_alive", int(HELD_S))
        config_init(self, *args, **kwargs)

    uvicorn.Server.main_loop = main_loop
    uvicorn.Server.handle_exit = stop_now
    uvicorn.Config.__init__ = config


def seed_ids(part: str) -> None:
    import random
    import secrets
    import uuid

    draw = random.Random(f"sandbox bench --cost {part}").randbytes
    secrets.token_bytes = lambda nbytes=None: draw(32 if nbytes is None else nbytes)
    uuid.uuid4 = lambda: uuid.UUID(bytes=draw(16), version=4)


def hold_logs() -> None:
    from sandbox.observability import logs

    logs._Writer.INTERVAL_S = HELD_S
    hand_off = logs._Handoff.enqueue

    def write_at_once(self, record) -> None:
        hand_off(self, record)
        if logs._listener is not None:
            logs._listener.drain()

    logs._Handoff.enqueue = write_at_once


def hold_stack() -> None:
    """What the sandbox's processes hold (not the hello-world's): the pools' idle closes,
    the markers' expiry, and the deadlines of a statement and of a Redis call (5 and 3 s:
    a process under valgrind on a machine loaded 30 deep once took longer, and answered a
    counted POST 503)."""
    import asyncpg

    from sandbox import redis_client
    from sandbox.events import wakeups
    from sandbox.payouts.lifecycle import schedule

    for name in ("SANDBOX_DB_STATEMENT_TIMEOUT_S", "SANDBOX_WORKER_STATEMENT_TIMEOUT_S"):
        os.environ.setdefault(name, str(DEADLINE_S))
    redis_client.SOCKET_TIMEOUT_S = redis_client.CONNECT_TIMEOUT_S = DEADLINE_S

    wakeups.MARKER_TTL_MS = schedule.STEP_DUE_MARKER_TTL_MS = int(HELD_S * 1000)
    create_pool = asyncpg.create_pool

    def pool(*args, **kwargs):
        kwargs.setdefault("max_inactive_connection_lifetime", 0)  # 0: never closed for idleness
        return create_pool(*args, **kwargs)

    asyncpg.create_pool = pool


def hold_api() -> None:
    from sandbox.requests import writer
    from sandbox.retention import activity

    writer.BATCH_MAX = 1
    activity.TOUCH_EVERY_S = math.inf


def without_periodic_jobs(build):
    """The worker as `build` makes it, less its periodic jobs, its heartbeat written once."""

    def build_worker(*args, **kwargs):
        worker = build(*args, **kwargs)
        worker.cron_jobs = []
        worker.health_check_interval = HELD_S
        return worker

    return build_worker


def hold_worker() -> None:
    import httpx

    from sandbox.webhooks.delivery import clients
    from sandbox.webhooks.store import target_policy
    from worker import main

    main.build_worker = without_periodic_jobs(main.build_worker)
    clients.KEEPALIVE_S = HELD_S
    target_policy.TEAMS_MAX_AGE_S = math.inf

    class KeptClient(httpx.AsyncClient):  # the rail callbacks' client (worker/main.py)
        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("limits", httpx.Limits(max_connections=100, max_keepalive_connections=20,
                                                     keepalive_expiry=HELD_S))
            super().__init__(*args, **kwargs)

    httpx.AsyncClient = KeptClient


def main(argv: list[str]) -> int:
    part, *rest = argv
    seed_ids(part)  # before anything imports uuid4 by name
    hold_logs()
    if part != "hello":
        hold_stack()
    if part == "worker":
        hold_worker()
    else:
        hold_uvicorn()
    if part == "api":
        hold_api()
    if part == "hello":
        from sandbox.bench.servers import hello

        return hello.main(int(rest[0]))
    import runpy

    sys.argv = ["sandbox", part]
    runpy.run_module("sandbox.cli", run_name="__main__")  # `sandbox api|ipn|worker`: it exits
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
