"""`sandbox bench --cost`: what a payout costs, counted in work that does not move with the
machine's load (docs/benchmark.md#cost-counted-in-instructions).

- Instructions a request, the API process alone under callgrind, for `POST /payouts`,
  `GET /payouts/{id}`, `GET /payouts` (one page), `GET /balance`, and for the bare
  Litestar hello-world (sandbox/bench/servers/hello.py) in the same run; each also as a
  ratio to the hello-world, which is what the budgets hold (a ratio cancels what the
  machine's processor and C library change in every count alike).
- A payout's whole cost, made one at a time and settled (`created` to `success`, its three
  webhooks delivered to a receiver) before the next is made, so that the worker's batches
  are the same in every run: the worker's instructions (the worker process alone under
  callgrind, without its periodic jobs: sandbox/bench/servers/counted_worker.py);
  PostgreSQL's statements (those inside stored functions and triggers included), round
  trips from each process (its top-level statements: asyncpg sends one a round trip), rows
  written and WAL bytes (each process connects as a role of its own, so pg_stat_statements
  tells them apart); Redis's commands (MONITOR), the polls and heartbeats left out.

Idle work is left out of every count: the API's by the second (uvicorn's tick and the log
writer's, with the metrics flush set past the run), the worker's by the poll of its loop
(a busy worker polls less often than an idle one). Requests are sent one at a time over
one kept connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from sandbox.bench.harness import callgrind
from sandbox.bench.harness.cpu import reference_ms
from sandbox.bench.harness.procs import cli, free_port, say, spawn, stop, wait_api, wait_http
from sandbox.bench.harness.redis_monitor import POLL, RedisMonitor
from sandbox.bench.harness.stack import OPENING_BALANCE, Stack, start_receiver, start_stack, stop_stack

PAYOUTS = 200  # of each request the API is counted for
SETTLED = 50  # payouts the worker is counted for, each made and settled before the next
# A counted process's work that runs by the clock, not by the requests, lands in a window in
# proportion to its length, which a busy machine stretches: the metrics flush of the API and
# of the worker (once a second, folding every minute) is set past the run, so that the idle
# left to subtract is uvicorn's tick and the log writer's, constant a second, and the worker's
# polls (a flush caught by the idle window once counted its commands out of every payout's).
COUNTED_ENV = {"SANDBOX_METRICS_FLUSH_S": "86400"}
WARMUP = 40  # of each request, before anything is counted
IDLE_S = 10.0  # the idle window: two of the worker's 5 s heartbeats, a hundred ticks of the API's
DRAIN_TIMEOUT_S = 600.0
START_TIMEOUT_S = 600.0  # a process under valgrind starts some 5x slower, more on a busy machine
ROLES = ("cost_api", "cost_worker")  # PostgreSQL roles, one a counted process
BUDGETS = Path(__file__).resolve().parents[2] / "bench" / "cost-budgets.json"
REQUESTS = ("post_payout", "get_payout", "list_payouts", "get_balance")


def _payout_body(reference: str) -> dict:
    return {"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"},
            "reference": reference}


async def _prepare_database(stack: Stack) -> None:
    """pg_stat_statements (loaded at start: the server is restarted for it), every statement
    tracked, autovacuum off (its work would land in any window), and a role per process."""
    import asyncpg

    conn = await asyncpg.connect(stack.database_url)
    try:
        for role in ROLES:
            await conn.execute(f"CREATE ROLE {role} SUPERUSER LOGIN")  # names of ours, never input
        await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        await conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
        await conn.execute("ALTER SYSTEM SET pg_stat_statements.track_utility = on")
        await conn.execute("ALTER SYSTEM SET autovacuum = off")
    finally:
        await conn.close()


def _restart_postgres(stack: Stack) -> str:
    pg = stack.servers[0]
    pg.stop()
    return pg.start()


def _as_role(database_url: str, role: str) -> str:
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


async def _postgres(stack: Stack) -> dict:
    """What each counted process has asked of PostgreSQL so far, and the WAL's position."""
    import asyncpg

    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            """SELECT r.rolname AS role, sum(s.calls) FILTER (WHERE s.toplevel) AS round_trips,
                      sum(s.calls) AS statements,
                      sum(s.rows) FILTER (WHERE s.query ~* '^\\s*(insert|update|delete|with)') AS rows_written
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
               WHERE r.rolname = ANY($1::text[]) GROUP BY r.rolname""", list(ROLES))
        wal = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
    finally:
        await conn.close()
    found = {r["role"]: {k: int(r[k] or 0) for k in ("round_trips", "statements", "rows_written")} for r in rows}
    empty = {"round_trips": 0, "statements": 0, "rows_written": 0}
    return {**{role: found.get(role, empty) for role in ROLES}, "wal_bytes": int(wal)}


async def _create_extension(database_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()


async def _checkpoint(stack: Stack) -> None:
    """A checkpoint before a window: every page's first change in it writes its full image,
    whatever the last checkpoint's moment was, so the WAL a window writes does not depend on it."""
    import asyncpg

    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


WEBHOOKS = 3  # payout.created, payout.processing, payout.success: each delivered to the receiver


async def _settled(stack: Stack, ids: list[str]) -> bool:
    """Every payout of `ids` at `success` with nothing left to do, and each of its webhooks
    delivered."""
    import asyncpg

    conn = await asyncpg.connect(stack.database_url)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM payout WHERE id = ANY($1::text[])"
            " AND (status <> 'success' OR next_action_at IS NOT NULL)", ids)
        delivered = await conn.fetchval(
            "SELECT count(*) FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event"
            " WHERE e.payout_id = ANY($1::text[]) AND d.status = 'succeeded'", ids)
        return left == 0 and delivered >= WEBHOOKS * len(ids)
    finally:
        await conn.close()


def _wait_settled(stack: Stack, ids: list[str]) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while not asyncio.run(_settled(stack, ids)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(ids)} payouts not settled with their webhooks in {DRAIN_TIMEOUT_S:.0f}s")
        time.sleep(0.25)  # polling a condition, bounded by the deadline


def _merchant(stack: Stack, hooks: str) -> str:
    import httpx

    with httpx.Client(base_url=stack.api_url + "/api/v1", timeout=60) as client:
        r = client.post("/sandbox/merchants", json={"name": "cost", "opening_balance": OPENING_BALANCE},
                        headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": "cost-merchant"})
        r.raise_for_status()
        key = r.json()["api_key"]
        r = client.post("/webhook-endpoints", json={"url": hooks, "events": ["payout.*"]},
                        headers={"X-API-KEY": key, "X-Idempotency-Key": "cost-endpoint"})
        r.raise_for_status()
        return key


def _requests(api_url: str, key: str, tag: str, count: int, ids: list[str]):
    """The steps a window counts: each sends `count` requests of one kind, one at a time."""
    import httpx

    client = httpx.Client(base_url=api_url + "/api/v1", timeout=120, headers={"X-API-KEY": key})

    def post() -> None:
        for i in range(count):
            r = client.post("/payouts", json=_payout_body(f"{tag}-{i}"), headers={"X-Idempotency-Key": f"{tag}-{i}"})
            r.raise_for_status()
            ids.append(r.json()["id"])

    def get() -> None:
        for i in range(count):
            client.get(f"/payouts/{ids[i % len(ids)]}").raise_for_status()

    def listing() -> None:
        for _ in range(count):
            client.get("/payouts", params={"limit": 20}).raise_for_status()

    def balance() -> None:
        for _ in range(count):
            client.get("/balance").raise_for_status()

    return client, {"post_payout": post, "get_payout": get, "list_payouts": listing, "get_balance": balance}


def _hello(stack: Stack, out_dir: Path) -> float:
    """The bare hello-world's instructions a request, under callgrind like the API."""
    import httpx

    port = free_port()
    log = stack.logs / "hello.log"
    hello = callgrind.Counted.start("hello", [sys.executable, "-m", "sandbox.bench.servers.hello", str(port)],
                                    stack.env, log, out_dir)
    stack.procs.append(hello.proc)
    url = f"http://127.0.0.1:{port}/hello"
    wait_http(url, hello.proc, log, timeout=START_TIMEOUT_S)
    with httpx.Client(timeout=120) as client:
        def send(count: int):
            return lambda: [client.get(url).raise_for_status() for _ in range(count)]

        send(WARMUP)()
        hello.count_idle(IDLE_S)
        per = hello.less_idle(hello.window(send(PAYOUTS))) / PAYOUTS
    stop(hello.proc)
    return per


def _idle(api: callgrind.Counted, worker: callgrind.Counted, monitor: RedisMonitor) -> tuple[float, set]:
    """Both counted processes idle in one window: the API's idle instructions a second, the
    worker's an iteration of its poll loop (a busy worker polls less often than an idle
    one, so its idle work is counted by its polls, not by the clock), and the Redis
    commands the stack sends with nothing asked of it (polls, heartbeats): left out of the
    payout's commands."""
    before = monitor.snapshot()
    opened = api.open(), worker.open()
    time.sleep(IDLE_S)  # the idle window itself: nothing to wait for
    idle_api, idle_worker = api.close(opened[0]), worker.close(opened[1])
    commands = monitor.snapshot() - before
    api.idle_per_s = idle_api.instructions / idle_api.seconds
    polls = commands[POLL]
    if not polls:
        raise RuntimeError(f"the worker did not poll in {IDLE_S} s idle: is it running?")
    return idle_worker.instructions / polls, set(commands)


def _start_counted(stack: Stack, database_url: str, out_dir: Path) -> tuple[callgrind.Counted, callgrind.Counted, str]:
    """The receiver and the IPN service (not counted), the API and the worker (counted,
    each connecting to PostgreSQL as its own role); returns them and the receiver's URL."""
    hooks = start_receiver(stack)
    stack.procs.append(spawn([sys.executable, "-m", "sandbox.cli", "ipn"], stack.env, stack.logs / "ipn.log"))
    api = callgrind.Counted.start("api", [sys.executable, "-m", "sandbox.cli", "api"],
                                  {**stack.env, **COUNTED_ENV,
                                   "SANDBOX_DATABASE_URL": _as_role(database_url, "cost_api")},
                                  stack.logs / "api.log", out_dir)
    stack.procs.append(api.proc)
    wait_api(stack.api_url, api.proc, stack.logs / "api.log", timeout=START_TIMEOUT_S)
    worker = callgrind.Counted.start("worker", [sys.executable, "-m", "sandbox.bench.servers.counted_worker"],
                                     {**stack.env, **COUNTED_ENV,
                                      "SANDBOX_DATABASE_URL": _as_role(database_url, "cost_worker")},
                                     stack.logs / "worker.log", out_dir)
    stack.procs.append(worker.proc)
    return api, worker, hooks


def measure(stack: Stack) -> dict:
    out_dir = stack.data_dir / "callgrind"
    asyncio.run(_prepare_database(stack))
    database_url = _restart_postgres(stack)
    cli(stack.env, "migrate")
    cli(stack.env, "seed")
    asyncio.run(_create_extension(database_url))
    hello_per = _hello(stack, out_dir)
    say(f"hello-world: {hello_per / 1e6:.3f} M instructions a request")
    api, worker, hooks = _start_counted(stack, database_url, out_dir)
    monitor = RedisMonitor(stack.env["SANDBOX_REDIS_URL"]).start()
    key = _merchant(stack, hooks)

    warm_ids: list[str] = []
    client, warm = _requests(stack.api_url, key, "cost-warm", WARMUP, warm_ids)
    for step in warm.values():
        step()
    say(f"warm-up: {WARMUP} of each request; waiting for the worker to settle them")
    _wait_settled(stack, warm_ids)
    client.close()
    per_poll, periodic = _idle(api, worker, monitor)

    ids: list[str] = []
    client, steps = _requests(stack.api_url, key, "cost", PAYOUTS, ids)
    counts = {name: api.less_idle(api.window(steps[name])) / PAYOUTS for name in REQUESTS}
    client.close()
    say(f"{PAYOUTS} of each request counted; waiting for the worker to settle the payouts")
    _wait_settled(stack, ids)

    # A payout's whole cost, one at a time: made, then settled with its webhooks delivered
    # before the next is made, so that the worker's batches (a claim, a relay, a delivery
    # round takes whatever is due when it runs) are the same in every run.
    settled: list[str] = []
    client, steps = _requests(stack.api_url, key, "cost-one", 1, settled)
    asyncio.run(_checkpoint(stack))
    before = asyncio.run(_postgres(stack))
    commands_before = monitor.snapshot()
    worker_opened = worker.open()
    for i in range(SETTLED):
        made = client.post("/payouts", json=_payout_body(f"cost-one-{i}"),
                           headers={"X-Idempotency-Key": f"cost-one-{i}"})
        made.raise_for_status()
        _wait_settled(stack, [made.json()["id"]])
    worker_window = worker.close(worker_opened)
    commands = monitor.snapshot() - commands_before
    after = asyncio.run(_postgres(stack))
    client.close()
    pg = {role: {k: after[role][k] - before[role][k] for k in after[role]} for role in ROLES}
    worker_per = max(0.0, worker_window.instructions - per_poll * commands[POLL]) / SETTLED
    work_commands = sum(n for what, n in commands.items() if what not in periodic)
    return {
        "payouts": PAYOUTS, "settled": SETTLED,
        "hello_instructions": round(hello_per),
        "api_instructions": {name: round(v) for name, v in counts.items()},
        "api_ratio": {name: round(v / hello_per, 2) for name, v in counts.items()},
        "worker_instructions_per_payout": round(worker_per),
        "worker_ratio": round(worker_per / hello_per, 2),
        "postgres_per_payout": {
            "statements": round(sum(r["statements"] for r in pg.values()) / SETTLED, 2),
            "round_trips_api": round(pg["cost_api"]["round_trips"] / SETTLED, 2),
            "round_trips_worker": round(pg["cost_worker"]["round_trips"] / SETTLED, 2),
            "rows_written": round(sum(r["rows_written"] for r in pg.values()) / SETTLED, 2),
            "wal_bytes": round((after["wal_bytes"] - before["wal_bytes"]) / SETTLED),
        },
        "redis_commands_per_payout": round(work_commands / SETTLED, 2),
        "idle": {"api_per_s": round(api.idle_per_s), "worker_per_poll": round(per_poll),
                 "worker_polls": commands[POLL], "periodic_redis_commands": sorted(" ".join(k) for k in periodic)},
    }


def over_budget(result: dict, budgets: dict, tolerance: float = 0.03) -> list[str]:
    """Every figure over its budget by more than `tolerance`, in words."""
    over = []
    for name, budget in _flat(budgets).items():
        figure = _flat(result).get(name)
        if figure is None:
            over.append(f"{name}: no figure (budget {budget})")
        elif figure > budget * (1 + tolerance):
            over.append(f"{name}: {figure} > budget {budget} (+{(figure / budget - 1) * 100:.1f} %)")
    return over


def _flat(tree: dict, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        elif isinstance(value, int | float):
            flat[f"{prefix}{name}"] = value
    return flat


def render(r: dict) -> str:
    h = r["hello_instructions"]
    lines = [f"cost of a payout, counted (callgrind; {r['payouts']} of each request after {WARMUP} of warm-up)",
             f"  {'hello-world GET /hello':34} {h / 1e6:8.3f} M instructions   1.00×"]
    names = {"post_payout": "POST /payouts", "get_payout": "GET /payouts/{id}", "list_payouts": "GET /payouts (a page)",
             "get_balance": "GET /balance"}
    for name, label in names.items():
        lines.append(f"  {label:34} {r['api_instructions'][name] / 1e6:8.3f} M instructions "
                     f"{r['api_ratio'][name]:6.2f}×")
    lines.append(f"  {'worker, a payout (3 webhooks)':34} {r['worker_instructions_per_payout'] / 1e6:8.3f} M "
                 f"instructions {r['worker_ratio']:6.2f}×")
    pg = r["postgres_per_payout"]
    lines.append(f"  PostgreSQL a payout: {pg['statements']} statements, round trips {pg['round_trips_api']} "
                 f"(API) + {pg['round_trips_worker']} (worker), {pg['rows_written']} rows written, "
                 f"{pg['wal_bytes']} WAL bytes")
    lines.append(f"  Redis a payout: {r['redis_commands_per_payout']} commands")
    idle = r["idle"]
    lines.append(f"  idle work left out: the API's {idle['api_per_s'] / 1e6:.2f} M instructions a second; the worker's "
                 f"{idle['worker_per_poll'] / 1e6:.3f} M a poll of its loop ({idle['worker_polls']} polls); "
                 f"Redis: {', '.join(idle['periodic_redis_commands'])}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    if not callgrind.found():
        print("sandbox bench --cost: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    reference = reference_ms()
    started = time.monotonic()
    args.api_workers = 1  # one API process: the one counted
    stack = start_stack(args)
    # Fixed: no rate limit in the way of the counted requests (its check still runs).
    try:
        result = measure(stack)
    finally:
        stop_stack(stack, args.keep)
    result["reference_loop_ms"] = reference
    result["total_s"] = round(time.monotonic() - started, 1)
    print(render(result))
    print(f"  total {result['total_s']} s; the machine's reference loop {reference} ms (counts do not move with it)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.budgets:
        budgets = json.loads(Path(args.budgets).read_text())
        over = over_budget(result, budgets.get("figures", budgets))
        for line in over:
            print(f"OVER BUDGET: {line}")
        print(f"budgets: {'all held' if not over else f'{len(over)} over'} ({args.budgets}, +3 % allowed)")
        return 1 if over else 0
    return 0

