"""`sandbox bench`'s worker phase and ceiling phases, and the counts the worker phases
read (steps applied, payouts not yet settled), which `mixed.py` reads too."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from sandbox.bench.harness.load import Load, wrk
from sandbox.bench.harness.procs import READY_TIMEOUT_S, free_port, say, spawn, stop, wait_http
from sandbox.bench.harness.stack import Stack, with_db

# The bench's payouts follow the `success` scenario: two steps, two events each.
STEP_EVENTS = ("payout.processing", "payout.success")


async def count_steps() -> int:
    from sandbox import db

    return await db.fetchval("SELECT count(*) FROM outbox_event WHERE type = ANY($1::varchar[])", list(STEP_EVENTS))


async def count_unsettled() -> int:
    from sandbox import db

    return await db.fetchval("SELECT count(*) FROM payout WHERE next_action_at IS NOT NULL")


def worker_phase(stack: Stack, duration: float, workers: int) -> dict:
    """Start worker process(es) on the backlog the POST phases left and count the steps
    they apply (each writes one event) from the first one for `duration` (or until the
    backlog is gone). Payouts settled per second = steps per second / steps per payout:
    counting final payouts instead would depend on the order the queue hands out steps."""

    async def measure() -> dict:
        from sandbox import db

        before = await count_steps()
        last_event = await db.fetchval("SELECT coalesce(max(number), 0) FROM outbox_event")
        backlog = await count_unsettled()
        procs = [spawn([sys.executable, "-m", "sandbox.cli", "worker"], stack.env, stack.logs / "worker.log")
                 for _ in range(workers)]
        stack.procs.extend(procs)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while await count_steps() == before:  # the first step applied starts the clock
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"the worker applied no step; see {stack.logs / 'worker.log'}")
            await asyncio.sleep(0.02)
        end = time.monotonic() + duration
        while time.monotonic() < end:  # measuring for `duration`, or until the backlog is gone
            if await count_unsettled() == 0:
                break
            await asyncio.sleep(0.1)
        # Timed by the steps' own events: the worker writes a claimed group's steps in one
        # transaction (up to 250 payouts), so the first the poll sees may be most of them.
        # From the first step's time to the last's, or to now while a backlog remains.
        row = await db.fetchone(
            "SELECT count(*) AS steps, min(created_at) AS first, max(created_at) AS last, now() AS now"
            " FROM outbox_event WHERE number > $1 AND type = ANY($2::varchar[])", last_event, list(STEP_EVENTS))
        remaining = await count_unsettled()
        for p in procs:
            stop(p)
        steps = row["steps"]
        seconds = max(((row["now"] if remaining else row["last"]) - row["first"]).total_seconds(), 0.001)
        return {"settled_per_s": round(steps / len(STEP_EVENTS) / seconds, 1), "steps": steps,
                "steps_per_s": round(steps / seconds, 1), "seconds": round(seconds, 3),
                "backlog_at_start": backlog, "workers": workers}

    return asyncio.run(with_db(stack, measure))


def ceiling_phases(stack: Stack, args: argparse.Namespace, merchant_id: str, spread_file: Path,
                   paths_file: Path, run_tag: str) -> dict[str, Load]:
    """The thinnest Litestar app doing the same database work (`ceiling.py`): GET with the
    GET's one statement; POST with pgbench's transaction as pgbench sends it, then folded
    into one statement. Each has a short unmeasured warm-up."""
    d, c, t = args.duration, args.connections, args.threads
    warmup = min(2.0, d)
    first_path = paths_file.read_text().split("\n", 1)[0].split()[1]
    found: dict[str, Load] = {}
    titles = {"transaction": "bare Litestar + pgbench's transaction",
              "statement": "bare Litestar + the same statement(s), folded into one",
              "limited": "the same, and the rate limiter's Redis call"}
    for mode in ("transaction", "statement", "limited"):
        port = free_port()
        log = stack.logs / f"ceiling-{mode}.log"
        proc = spawn([sys.executable, "-m", "sandbox.bench.servers.ceiling", str(port), merchant_id,
                      str(args.merchants), mode], stack.env, log)
        stack.procs.append(proc)
        url = f"http://127.0.0.1:{port}/api/v1/payouts"
        wait_http(f"http://127.0.0.1:{port}{first_path}", proc, log)  # a payout the GET reads
        suffix = "_limited" if mode == "limited" else ""
        if mode != "transaction":
            say(f"ceiling: GET, {titles[mode]}")
            wrk(url, "get_paths.lua", [str(paths_file)], duration=warmup, connections=c, threads=t)
            found["get" + suffix] = wrk(url, "get_paths.lua", [str(paths_file)], duration=d, connections=c,
                                        threads=t)
        say(f"ceiling: POST, {titles[mode]}")
        wrk(url, "post_payouts.lua", [str(spread_file), f"{run_tag}{mode[0]}w"], duration=warmup, connections=c,
            threads=t)
        found["post_" + mode] = wrk(url, "post_payouts.lua", [str(spread_file), f"{run_tag}{mode[0]}"], duration=d,
                                    connections=c, threads=t)
        stop(proc)
    return found
