"""`sandbox bench --cost`: what a payout costs, counted in work that does not move with the
machine's load (docs/benchmark.md#cost-counted-in-instructions).

- Instructions a request, the API process alone under callgrind, for `POST /payouts`,
  `GET /payouts/{id}`, `GET /payouts` (one page), `GET /balance`, and for the bare
  Litestar hello-world (sandbox/bench/servers/hello.py) in the same run; each also as a
  ratio to the hello-world, which is what the budgets hold (a ratio cancels what the
  machine's processor and C library change in every count alike). The payouts made are
  settled before the reads are counted.
- A payout's whole cost, made one at a time and settled (`created` to `success`, its three
  webhooks delivered to a receiver) before the next is made, so that the worker's batches
  are the same in every run: the worker's instructions (the worker process alone under
  callgrind); PostgreSQL's statements (those inside stored functions and triggers
  included), round trips from each process (its top-level statements: asyncpg sends one a
  round trip), rows written and WAL bytes (each process connects as a role of its own, so
  pg_stat_statements tells them apart); Redis's commands (MONITOR), the polls left out.

Whatever a counted process does by the clock is held still while it is counted
(sandbox/bench/servers/counted.py: uvicorn's tick, the log writer's, caches and markers
that expire, kept connections that time out), so a window counts the same work however
long a busy machine makes it. What idle work is left is subtracted: the API's by the
second (measured, and next to nothing), the worker's by the poll of its loop (it polls
Redis every 50 ms, fewer times when busy). Requests are sent one at a time over one kept
connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

from sandbox.bench.harness import callgrind
from sandbox.bench.harness import cost_postgres as pg
from sandbox.bench.harness.callgrind import HELD_S
from sandbox.bench.harness.cpu import reference_ms
from sandbox.bench.harness.procs import cli, free_port, say, spawn, stop, wait_api, wait_http
from sandbox.bench.harness.redis_monitor import POLL, RedisMonitor
from sandbox.bench.harness.stack import OPENING_BALANCE, Stack, start_receiver, start_stack, stop_stack

PAYOUTS = 200  # of each request the API is counted for
SETTLED = 50  # payouts the worker is counted for, each made and settled before the next
# The metrics flush of the API, the worker and the IPN service (once a second, folding every
# minute) is set past the run: a fold moves every trigger-written count into its total (a
# DELETE of each, page images for hint bits), and the IPN's, left to its clock, landed in the
# settled payouts' window or not by how long a busy machine made it, 1.8 KB of WAL a payout
# (28 Nov). The rest of what the counted processes do by the clock is held still by
# sandbox/bench/servers/counted.py, which each is started through.
COUNTED_ENV = {"SANDBOX_METRICS_FLUSH_S": "86400"}
WARMUP = 40  # of each request, before anything is counted
IDLE_S = 10.0  # the idle windows, in all
IDLE_WINDOWS = 2
START_TIMEOUT_S = 600.0  # a process under valgrind starts some 5x slower, more on a busy machine
BUDGETS = Path(__file__).resolve().parents[2] / "bench" / "cost-budgets.json"
REQUESTS = ("post_payout", "get_payout", "list_payouts", "get_balance")


def _payout_body(reference: str) -> dict:
    return {"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"},
            "reference": reference}


def _client(base_url: str, **kwargs):
    """The bench's own client: one connection, kept between windows (see counted.py)."""
    import httpx

    return httpx.Client(base_url=base_url, timeout=120, limits=httpx.Limits(keepalive_expiry=HELD_S), **kwargs)


def _counted(name: str, part: str, args: list[str], env: dict, stack: Stack, out_dir: Path) -> callgrind.Counted:
    counted = callgrind.Counted.start(name, [sys.executable, "-m", "sandbox.bench.servers.counted", part, *args],
                                      env, stack.logs / f"{name}.log", out_dir)
    stack.procs.append(counted.proc)
    return counted


def _restart_postgres(stack: Stack) -> str:
    server = stack.servers[0]
    server.stop()
    return server.start()


def _merchant(stack: Stack, hooks: str) -> str:
    with _client(stack.api_url + "/api/v1") as client:
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
    client = _client(api_url + "/api/v1", headers={"X-API-KEY": key})

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


def _hello(stack: Stack, out_dir: Path) -> tuple[float, float]:
    """The bare hello-world's instructions a request, under callgrind like the API, and
    its idle instructions a second."""
    port = free_port()
    hello = _counted("hello", "hello", [str(port)], stack.env, stack, out_dir)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/hello", hello.proc, stack.logs / "hello.log", timeout=START_TIMEOUT_S)
    with _client(base) as client:
        def send(count: int):
            return lambda: [client.get("/hello").raise_for_status() for _ in range(count)]

        send(WARMUP)()
        hello.count_idle(IDLE_S)
        per = hello.less_idle(hello.window(send(PAYOUTS))) / PAYOUTS
    stop(hello.proc)
    return per, hello.idle_per_s


def _wait_quiet(monitor: RedisMonitor) -> None:
    """Until the worker has no job queued or running (its last job's end included)."""
    deadline = time.monotonic() + pg.DRAIN_TIMEOUT_S
    while not monitor.quiet():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker still had jobs after {pg.DRAIN_TIMEOUT_S:.0f}s")
        time.sleep(0.05)  # polling a condition, bounded by the deadline


def _idle(api: callgrind.Counted, worker: callgrind.Counted, monitor: RedisMonitor) -> tuple[float, set]:
    """Both counted processes idle, the worker quiet, in IDLE_WINDOWS windows: the API's idle
    instructions a second, the worker's an iteration of its poll loop (a busy worker polls
    less often than an idle one, so its idle work is counted by its polls, not by the clock;
    the least of the windows, should anything have been left to finish in one), and the
    Redis commands the stack sends with nothing asked of it (the polls): left out of the
    payout's commands."""
    per_poll, periodic = [], set()
    for _ in range(IDLE_WINDOWS):
        _wait_quiet(monitor)
        before = monitor.snapshot()
        opened = api.open(), worker.open()
        time.sleep(IDLE_S / IDLE_WINDOWS)  # the idle window itself: nothing to wait for
        idle_api, idle_worker = api.close(opened[0]), worker.close(opened[1])
        commands = monitor.snapshot() - before
        api.idle_per_s = idle_api.instructions / idle_api.seconds
        if not commands[POLL]:
            raise RuntimeError(f"the worker did not poll in {IDLE_S / IDLE_WINDOWS} s idle: is it running?")
        per_poll.append(idle_worker.instructions / commands[POLL])
        periodic |= set(commands)
    return min(per_poll), periodic


def _start_counted(stack: Stack, database_url: str, out_dir: Path) -> tuple[callgrind.Counted, callgrind.Counted, str]:
    """The receiver and the IPN service (not counted), the API and the worker (counted,
    each connecting to PostgreSQL as its own role); returns them and the receiver's URL."""
    hooks = start_receiver(stack)
    stack.procs.append(spawn([sys.executable, "-m", "sandbox.bench.servers.counted", "ipn"],
                             {**stack.env, **COUNTED_ENV, **callgrind.VALGRIND_ENV}, stack.logs / "ipn.log"))
    api = _counted("api", "api", [], {**stack.env, **COUNTED_ENV,
                                      "SANDBOX_DATABASE_URL": pg.as_role(database_url, "cost_api")}, stack, out_dir)
    wait_api(stack.api_url, api.proc, stack.logs / "api.log", timeout=START_TIMEOUT_S)
    worker = _counted("worker", "worker", [], {**stack.env, **COUNTED_ENV,
                                               "SANDBOX_DATABASE_URL": pg.as_role(database_url, "cost_worker")},
                      stack, out_dir)
    return api, worker, hooks


def _settled_one_at_a_time(stack: Stack, key: str, worker: callgrind.Counted, monitor: RedisMonitor):
    """A payout's whole cost: each made, then settled with its webhooks delivered before the
    next is made, so that the worker's batches (a claim, a relay, a delivery round takes
    whatever is due when it runs) are the same in every run."""
    settled: list[str] = []
    client, _ = _requests(stack.api_url, key, "cost-one", 1, settled)
    _wait_quiet(monitor)
    asyncio.run(pg.checkpoint(stack.database_url))
    before = asyncio.run(pg.counts(stack.database_url))
    commands_before = monitor.snapshot()
    worker_opened = worker.open()
    for i in range(SETTLED):
        made = client.post("/payouts", json=_payout_body(f"cost-one-{i}"),
                           headers={"X-Idempotency-Key": f"cost-one-{i}"})
        made.raise_for_status()
        pg.wait_settled(stack.database_url, [made.json()["id"]])
        _wait_quiet(monitor)  # each payout starts with the worker as the last one left it
    worker_window = worker.close(worker_opened)
    commands = monitor.snapshot() - commands_before
    after = asyncio.run(pg.counts(stack.database_url))
    client.close()
    return worker_window, commands, pg.difference(after, before)


def measure(stack: Stack) -> dict:
    out_dir = stack.data_dir / "callgrind"
    asyncio.run(pg.prepare(stack.database_url))
    database_url = _restart_postgres(stack)
    cli(stack.env, "migrate")
    cli(stack.env, "seed")
    asyncio.run(pg.create_extension(database_url))
    hello_per, hello_idle = _hello(stack, out_dir)
    say(f"hello-world: {hello_per / 1e6:.3f} M instructions a request")
    api, worker, hooks = _start_counted(stack, database_url, out_dir)
    monitor = RedisMonitor(stack.env["SANDBOX_REDIS_URL"]).start()
    key = _merchant(stack, hooks)

    warm_ids: list[str] = []
    client, warm = _requests(stack.api_url, key, "cost-warm", WARMUP, warm_ids)
    for step in warm.values():
        step()
    say(f"warm-up: {WARMUP} of each request; waiting for the worker to settle them")
    pg.wait_settled(database_url, warm_ids)
    client.close()
    per_poll, periodic = _idle(api, worker, monitor)

    # The payouts made are settled before the reads are counted: what a read answers (a
    # payout's status and history) does not then depend on how far the worker has got.
    ids: list[str] = []
    client, steps = _requests(stack.api_url, key, "cost", PAYOUTS, ids)
    counts = {"post_payout": api.less_idle(api.window(steps["post_payout"])) / PAYOUTS}
    say(f"{PAYOUTS} POST /payouts counted; waiting for the worker to settle them")
    pg.wait_settled(database_url, ids)
    counts.update({name: api.less_idle(api.window(steps[name])) / PAYOUTS for name in REQUESTS[1:]})
    client.close()
    say(f"{PAYOUTS} of each read counted; {SETTLED} payouts now made and settled one at a time")

    worker_window, commands, spent = _settled_one_at_a_time(stack, key, worker, monitor)
    worker_per = max(0.0, worker_window.instructions - per_poll * commands[POLL]) / SETTLED
    work_commands = {what: n for what, n in commands.items() if what not in periodic}
    return {
        "payouts": PAYOUTS, "settled": SETTLED,
        "hello_instructions": round(hello_per),
        "api_instructions": {name: round(v) for name, v in counts.items()},
        "api_ratio": {name: round(v / hello_per, 2) for name, v in counts.items()},
        "worker_instructions_per_payout": round(worker_per),
        "worker_ratio": round(worker_per / hello_per, 2),
        "postgres_per_payout": {
            "statements": round(sum(spent[role]["statements"] for role in pg.ROLES) / SETTLED, 2),
            "round_trips_api": round(spent["cost_api"]["round_trips"] / SETTLED, 2),
            "round_trips_worker": round(spent["cost_worker"]["round_trips"] / SETTLED, 2),
            "rows_written": round(sum(spent[role]["rows_written"] for role in pg.ROLES) / SETTLED, 2),
            "wal_bytes": round(spent["wal_bytes"] / SETTLED),
        },
        "redis_commands_per_payout": round(sum(work_commands.values()) / SETTLED, 2),
        "idle": {"api_per_s": round(api.idle_per_s), "hello_per_s": round(hello_idle),
                 "worker_per_poll": round(per_poll), "worker_polls": commands[POLL],
                 "periodic_redis_commands": sorted(" ".join(k) for k in periodic)},
        # What the figures are sums of, for telling two runs apart (docs/benchmark.md).
        "detail": {"statements": dict(sorted(spent["by_statement"].items())),
                   "redis_commands": _by_kind(work_commands)},
    }


def _by_kind(commands: dict) -> dict[str, int]:
    """Redis commands by name and key, a key's ids (a job's, a payout's) as `*`."""
    kinds: dict[str, int] = {}
    for (name, key), n in commands.items():
        kind = f"{name} {re.sub(r'[0-9a-f]{16,}', '*', key)}".strip()
        kinds[kind] = kinds.get(kind, 0) + n
    return dict(sorted(kinds.items()))


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
    lines.append(f"  idle work left out: the API's {idle['api_per_s'] / 1e6:.3f} M instructions a second (the "
                 f"hello-world's {idle['hello_per_s'] / 1e6:.3f} M); the worker's "
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
    try:
        result = measure(stack)
    finally:
        stop_stack(stack, args.keep)
        if args.keep:
            say(f"kept: {stack.data_dir} (callgrind's dumps in callgrind/, the processes' logs in logs/)")
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

