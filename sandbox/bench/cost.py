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
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.bench.harness import callgrind
from sandbox.bench.harness import cost_postgres as pg
from sandbox.bench.harness import pg_callgrind
from sandbox.bench.harness.callgrind import HELD_S
from sandbox.bench.harness.cpu import reference_ms
from sandbox.bench.harness.procs import cli, free_port, say, spawn, stop, wait_api, wait_http
from sandbox.bench.harness.redis_monitor import POLL, RedisMonitor
from sandbox.bench.harness.stack import OPENING_BALANCE, Stack, start_receiver, start_stack, stop_stack
from sandbox.settings import get_settings

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
# The burst (`--burst N`): N payouts posted over this many connections at once, after a
# burst of BURST_WARMUP that grows the pools (of the API, the worker and PostgreSQL's
# backends) to what a burst takes.
BURST_CONNECTIONS = 8
BURST_WARMUP = 60


def _payout_body(reference: str) -> dict:
    return {"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"},
            "reference": reference}


def _client(base_url: str, **kwargs):
    """The bench's own client: one connection, kept between windows (see counted.py)."""
    import httpx

    return httpx.Client(base_url=base_url, timeout=120, limits=httpx.Limits(keepalive_expiry=HELD_S), **kwargs)


def _counted(name: str, part: str, args: list[str], env: dict, stack: Stack,
             out_dir: Path) -> tuple[callgrind.Counted, subprocess.Popen]:
    counted = callgrind.Counted.start(name, [sys.executable, "-m", "sandbox.bench.servers.counted", part, *args],
                                      env, stack.logs / f"{name}.log", out_dir)
    assert counted.proc is not None
    stack.procs.append(counted.proc)
    return counted, counted.proc


def _restart_postgres(stack: Stack, out_dir: Path, under_callgrind: bool) -> str:
    """Again, with the settings `pg.prepare` gave it; for a burst, under callgrind
    (pg_callgrind.py: it runs some 50 times slower throughout, which one at a time would
    stretch every window's polls of the worker for nothing it counts)."""
    server = stack.servers[0]
    server.stop()
    if not under_callgrind:
        return server.start()
    with pg_callgrind.starts_under_callgrind(out_dir):
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
    hello, proc = _counted("hello", "hello", [str(port)], stack.env, stack, out_dir)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/hello", proc, stack.logs / "hello.log", timeout=START_TIMEOUT_S)
    with _client(base) as client:
        def send(count: int):
            return lambda: [client.get("/hello").raise_for_status() for _ in range(count)]

        send(WARMUP)()
        hello.count_idle(IDLE_S)
        per = hello.less_idle(hello.window(send(PAYOUTS))) / PAYOUTS
    stop(proc)
    return per, hello.idle_per_s


def _wait_quiet(monitor: RedisMonitor) -> None:
    """Until the worker has no job queued or running (its last job's end included)."""
    deadline = time.monotonic() + pg.DRAIN_TIMEOUT_S
    while not monitor.quiet():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker still had jobs after {pg.DRAIN_TIMEOUT_S:.0f}s")
        time.sleep(0.05)  # polling a condition, bounded by the deadline


def _idle(counted: Counting) -> None:
    """The counted processes idle, the worker quiet, in IDLE_WINDOWS windows: the API's and
    PostgreSQL's backends' idle instructions a second, the worker's an iteration of its poll
    loop (a busy worker polls less often than an idle one, so its idle work is counted by its
    polls, not by the clock; the least of the windows, should anything have been left to
    finish in one), and the Redis commands the stack sends with nothing asked of it (the
    polls): left out of the payout's commands."""
    per_poll, periodic = [], set()
    api, worker, backends, monitor = counted.api, counted.worker, counted.backends, counted.monitor
    for _ in range(IDLE_WINDOWS):
        _wait_quiet(monitor)
        before = monitor.snapshot()
        opened = api.open(), worker.open(), backends.open() if backends else 0.0
        time.sleep(IDLE_S / IDLE_WINDOWS)  # the idle window itself: nothing to wait for
        idle_api, idle_worker = api.close(opened[0]), worker.close(opened[1])
        if backends:
            idle_pg = backends.close(opened[2])
            backends.idle_per_s = idle_pg.instructions / idle_pg.seconds
        commands = monitor.snapshot() - before
        api.idle_per_s = idle_api.instructions / idle_api.seconds
        if not commands[POLL]:
            raise RuntimeError(f"the worker did not poll in {IDLE_S / IDLE_WINDOWS} s idle: is it running?")
        per_poll.append(idle_worker.instructions / commands[POLL])
        periodic |= set(commands)
    counted.per_poll, counted.periodic = min(per_poll), periodic


def _start_counted(stack: Stack, database_url: str, out_dir: Path,
                   whole_pools: bool) -> tuple[callgrind.Counted, callgrind.Counted, str]:
    """The receiver and the IPN service (not counted), the API and the worker (counted,
    each connecting to PostgreSQL as its own role); returns them and the receiver's URL."""
    hooks = start_receiver(stack)
    stack.procs.append(spawn([sys.executable, "-m", "sandbox.bench.servers.counted", "ipn"],
                             {**stack.env, **COUNTED_ENV, **callgrind.VALGRIND_ENV}, stack.logs / "ipn.log"))
    counted_env = {**stack.env, **COUNTED_ENV}
    if whole_pools:
        # For a burst, each counted pool opens all its connections as it starts (its least
        # size set to its size, which stays what users get): PostgreSQL's backend for a
        # connection a pool opened inside a window could not be counted (pg_callgrind.py).
        counted_env["SANDBOX_DB_POOL_MIN"] = stack.env.get("SANDBOX_DB_POOL_MAX") or str(get_settings().db_pool_max)
    api, proc = _counted("api", "api", [], {**counted_env, "SANDBOX_DATABASE_URL": pg.as_role(database_url, "cost_api")},
                         stack, out_dir)
    wait_api(stack.api_url, proc, stack.logs / "api.log", timeout=START_TIMEOUT_S)
    worker, _ = _counted("worker", "worker", [],
                         {**counted_env, "SANDBOX_DATABASE_URL": pg.as_role(database_url, "cost_worker")},
                         stack, out_dir)
    return api, worker, hooks


def _settled_one_at_a_time(stack: Stack, key: str, counted: Counting):
    """A payout's whole cost: each made, then settled with its webhooks delivered before the
    next is made, so that the worker's batches (a claim, a relay, a delivery round takes
    whatever is due when it runs) are the same in every run. The API is counted apart (its
    requests above); the worker here, and PostgreSQL's and Redis's counts."""
    settled: list[str] = []
    client, _ = _requests(stack.api_url, key, "cost-one", 1, settled)
    _wait_quiet(counted.monitor)
    asyncio.run(pg.checkpoint(stack.database_url))
    before = asyncio.run(pg.counts(stack.database_url))
    commands_before = counted.monitor.snapshot()
    opened = counted.worker.open()
    for i in range(SETTLED):
        made = client.post("/payouts", json=_payout_body(f"cost-one-{i}"),
                           headers={"X-Idempotency-Key": f"cost-one-{i}"})
        made.raise_for_status()
        pg.wait_settled(stack.database_url, [made.json()["id"]])
        _wait_quiet(counted.monitor)  # each payout starts with the worker as the last one left it
    worker_window = counted.worker.close(opened)
    commands = counted.monitor.snapshot() - commands_before
    after = asyncio.run(pg.counts(stack.database_url))
    client.close()
    return worker_window, commands, asyncio.run(pg.window(stack.database_url, after, before))


async def _post_burst(api_url: str, key: str, tag: str, count: int) -> list[str]:
    """`count` payouts posted as fast as the API takes them: BURST_CONNECTIONS kept
    connections, each sending its next POST as soon as the last is answered."""
    import httpx

    ids: list[str] = []
    numbers = iter(range(count))
    async with httpx.AsyncClient(base_url=api_url + "/api/v1", headers={"X-API-KEY": key}, timeout=300,
                                 limits=httpx.Limits(max_connections=BURST_CONNECTIONS,
                                                     keepalive_expiry=HELD_S)) as client:
        async def sender() -> None:
            for i in numbers:
                r = await client.post("/payouts", json=_payout_body(f"{tag}-{i}"),
                                      headers={"X-Idempotency-Key": f"{tag}-{i}"})
                r.raise_for_status()
                ids.append(r.json()["id"])

        await asyncio.gather(*(sender() for _ in range(BURST_CONNECTIONS)))
    return ids


def _burst(stack: Stack, key: str, counted: Counting, count: int):
    """A payout's whole cost at load: `count` payouts posted at once, counted from the first
    POST to the last webhook delivered (the API, the worker and PostgreSQL's backends in one
    window)."""
    assert counted.backends is not None
    _wait_quiet(counted.monitor)
    asyncio.run(pg.checkpoint(stack.database_url))
    before = asyncio.run(pg.counts(stack.database_url))
    commands_before = counted.monitor.snapshot()
    opened = counted.api.open(), counted.worker.open(), counted.backends.open()
    ids = asyncio.run(_post_burst(stack.api_url, key, "cost-burst", count))
    pg.wait_settled(stack.database_url, ids)
    _wait_quiet(counted.monitor)
    windows = (counted.api.close(opened[0]), counted.worker.close(opened[1]), counted.backends.close(opened[2]))
    commands = counted.monitor.snapshot() - commands_before
    after = asyncio.run(pg.counts(stack.database_url))
    return windows, commands, asyncio.run(pg.window(stack.database_url, after, before))


def _postgres_per_payout(spent: dict, payouts: int) -> dict:
    return {
        "statements": round(sum(spent[role]["statements"] for role in pg.ROLES) / payouts, 2),
        "round_trips_api": round(spent["cost_api"]["round_trips"] / payouts, 2),
        "round_trips_worker": round(spent["cost_worker"]["round_trips"] / payouts, 2),
        "rows_written": round(spent["rows_written"] / payouts, 2),
        "wal_bytes": round(spent["wal_bytes"] / payouts),
    }


@dataclass
class Counting:
    """What a payout's windows count: the API, the worker, PostgreSQL's backends of their
    roles, and Redis's commands; and the idle work left out of each."""

    api: callgrind.Counted
    worker: callgrind.Counted
    backends: pg_callgrind.Backends | None  # in a burst only (PostgreSQL runs under callgrind then)
    monitor: RedisMonitor
    per_poll: float = 0.0  # the worker's idle instructions an iteration of its poll loop
    periodic: set = field(default_factory=set)  # Redis's commands with nothing asked (the polls)

    def payout_figures(self, hello_per: float, payouts: int, worker: callgrind.Window,
                       backends: callgrind.Window | None, commands, spent: dict) -> dict:
        """The figures a payout of a window: the worker's and PostgreSQL's instructions (each
        also as a multiple of the hello-world's request), PostgreSQL's counts, Redis's."""
        worker_per = max(0.0, worker.instructions - self.per_poll * commands[POLL]) / payouts
        postgres_per = self.backends.less_idle(backends) / payouts if self.backends and backends else 0.0
        work = {what: n for what, n in commands.items() if what not in self.periodic}
        return {
            "worker_instructions_per_payout": round(worker_per),
            "worker_ratio": round(worker_per / hello_per, 2),
            "postgres_instructions_per_payout": round(postgres_per),
            "postgres_ratio": round(postgres_per / hello_per, 2),
            "postgres_per_payout": _postgres_per_payout(spent, payouts),
            "redis_commands_per_payout": round(sum(work.values()) / payouts, 2),
            "polls": commands[POLL],
            "redis_work": work,
        }


def measure(stack: Stack, burst: int = 0) -> dict:
    """One at a time (with no `burst`): the API's requests, then a payout made and settled
    alone. With `burst`: a payout in a burst of that many, PostgreSQL under callgrind."""
    out_dir = stack.data_dir / "callgrind"
    asyncio.run(pg.prepare(stack.database_url))
    database_url = _restart_postgres(stack, out_dir, under_callgrind=bool(burst))
    cli(stack.env, "migrate")
    cli(stack.env, "seed")
    asyncio.run(pg.create_extension(database_url))
    hello_per, hello_idle = _hello(stack, out_dir)
    say(f"hello-world: {hello_per / 1e6:.3f} M instructions a request")
    api, worker, hooks = _start_counted(stack, database_url, out_dir, whole_pools=bool(burst))
    counted = Counting(api, worker, pg_callgrind.Backends(database_url, out_dir) if burst else None,
                       RedisMonitor(stack.env["SANDBOX_REDIS_URL"]).start())
    key = _merchant(stack, hooks)
    result = _in_a_burst(stack, key, counted, hello_per, burst) if burst else \
        _one_at_a_time(stack, key, counted, hello_per)
    result["hello_instructions"] = round(hello_per)
    result["idle"] = {"api_per_s": round(api.idle_per_s), "hello_per_s": round(hello_idle),
                      "worker_per_poll": round(counted.per_poll),
                      "periodic_redis_commands": sorted(" ".join(k) for k in counted.periodic)}
    if counted.backends is not None:
        result["idle"]["postgres_per_s"] = round(counted.backends.idle_per_s)
    return result


def _one_at_a_time(stack: Stack, key: str, counted: Counting, hello_per: float) -> dict:
    api = counted.api
    warm_ids: list[str] = []
    client, warm = _requests(stack.api_url, key, "cost-warm", WARMUP, warm_ids)
    for step in warm.values():
        step()
    say(f"warm-up: {WARMUP} of each request; waiting for the worker to settle them")
    pg.wait_settled(stack.database_url, warm_ids)
    client.close()
    _idle(counted)

    # The payouts made are settled before the reads are counted: what a read answers (a
    # payout's status and history) does not then depend on how far the worker has got.
    ids: list[str] = []
    client, steps = _requests(stack.api_url, key, "cost", PAYOUTS, ids)
    counts = {"post_payout": api.less_idle(api.window(steps["post_payout"])) / PAYOUTS}
    say(f"{PAYOUTS} POST /payouts counted; waiting for the worker to settle them")
    pg.wait_settled(stack.database_url, ids)
    counts.update({name: api.less_idle(api.window(steps[name])) / PAYOUTS for name in REQUESTS[1:]})
    client.close()
    say(f"{PAYOUTS} of each read counted; {SETTLED} payouts now made and settled one at a time")

    worker_window, commands, spent = _settled_one_at_a_time(stack, key, counted)
    one = counted.payout_figures(hello_per, SETTLED, worker_window, None, commands, spent)
    return {
        "payouts": PAYOUTS, "settled": SETTLED,
        "api_instructions": {name: round(v) for name, v in counts.items()},
        "api_ratio": {name: round(v / hello_per, 2) for name, v in counts.items()},
        **{name: one[name] for name in ("worker_instructions_per_payout", "worker_ratio", "postgres_per_payout",
                                        "redis_commands_per_payout")},
        "worker_polls": one["polls"],
        # What the figures are sums of, for telling two runs apart (docs/benchmark.md).
        "detail": {"statements": dict(sorted(spent["by_statement"].items())),
                   "rows_written": spent["rows_by_table"], "wal_bytes": spent["wal_by_relation"],
                   "redis_commands": _by_kind(one["redis_work"])},
    }


def _in_a_burst(stack: Stack, key: str, counted: Counting, hello_per: float, burst: int) -> dict:
    say(f"warm-up: a burst of {BURST_WARMUP}; waiting for the worker to settle it")
    warm = asyncio.run(_post_burst(stack.api_url, key, "cost-burst-warm", BURST_WARMUP))
    pg.wait_settled(stack.database_url, warm)
    _idle(counted)
    say(f"a burst of {burst} payouts, posted over {BURST_CONNECTIONS} connections, counted to the last webhook")
    started = time.monotonic()
    (api_window, worker_window, pg_window), commands, spent = _burst(stack, key, counted, burst)
    figures = counted.payout_figures(hello_per, burst, worker_window, pg_window, commands, spent)
    api_per = counted.api.less_idle(api_window) / burst
    return {"burst": {
        "payouts": burst, "seconds": round(time.monotonic() - started, 1),
        "api_instructions_per_payout": round(api_per), "api_ratio": round(api_per / hello_per, 2),
        **{name: figures[name] for name in ("worker_instructions_per_payout", "worker_ratio",
                                            "postgres_instructions_per_payout", "postgres_ratio",
                                            "postgres_per_payout", "redis_commands_per_payout")},
        "worker_polls": figures["polls"],
        "detail": {"statements": dict(sorted(spent["by_statement"].items())),
                   "rows_written": spent["rows_by_table"], "wal_bytes": spent["wal_by_relation"],
                   "redis_commands": _by_kind(figures["redis_work"])},
    }}


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


def budgets_of_the_mode(figures: dict, burst: bool) -> dict:
    """The budgets a run is held to: the burst's (under `burst`) or the others."""
    if burst:
        return {"burst": figures.get("burst", {})}
    return {name: budget for name, budget in figures.items() if name != "burst"}


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
    idle = r["idle"]
    if burst := r.get("burst"):
        lines = [f"cost of a payout in a burst of {burst['payouts']} (callgrind; posted over {BURST_CONNECTIONS} "
                 f"connections at once, counted from the first POST to the last webhook delivered, "
                 f"{burst['seconds']} s)",
                 f"  {'hello-world GET /hello':34} {h / 1e6:8.3f} M instructions   1.00×",
                 f"    {'API':32} {burst['api_instructions_per_payout'] / 1e6:8.3f} M instructions "
                 f"{burst['api_ratio']:6.2f}×"]
        lines += _payout_lines(burst, postgres=True)
    else:
        lines = [f"cost of a payout, counted (callgrind; {r['payouts']} of each request after {WARMUP} of warm-up)",
                 f"  {'hello-world GET /hello':34} {h / 1e6:8.3f} M instructions   1.00×"]
        names = {"post_payout": "POST /payouts", "get_payout": "GET /payouts/{id}",
                 "list_payouts": "GET /payouts (a page)", "get_balance": "GET /balance"}
        for name, label in names.items():
            lines.append(f"  {label:34} {r['api_instructions'][name] / 1e6:8.3f} M instructions "
                         f"{r['api_ratio'][name]:6.2f}×")
        lines.append(f"  a payout made and settled alone ({r['settled']}, each with its 3 webhooks delivered):")
        lines += _payout_lines(r, postgres=False)
    backends = f"PostgreSQL's backends' {idle['postgres_per_s'] / 1e6:.3f} M a second; " if "postgres_per_s" in idle else ""
    lines.append(f"  idle work left out: the API's {idle['api_per_s'] / 1e6:.3f} M instructions a second (the "
                 f"hello-world's {idle['hello_per_s'] / 1e6:.3f} M); the worker's "
                 f"{idle['worker_per_poll'] / 1e6:.3f} M a poll of its loop ({(burst or r)['worker_polls']} polls); "
                 f"{backends}Redis: {', '.join(idle['periodic_redis_commands'])}")
    return "\n".join(lines)


def _payout_lines(r: dict, postgres: bool) -> list[str]:
    """A payout's figures, in one-at-a-time's and the burst's tables alike."""
    pg = r["postgres_per_payout"]
    lines = [f"    {'worker':32} {r['worker_instructions_per_payout'] / 1e6:8.3f} M instructions "
             f"{r['worker_ratio']:6.2f}×"]
    if postgres:
        lines.append(f"    {'PostgreSQL (its backends)':32} {r['postgres_instructions_per_payout'] / 1e6:8.3f} M "
                     f"instructions {r['postgres_ratio']:6.2f}×")
    return [*lines,
            f"    PostgreSQL: {pg['statements']} statements, round trips {pg['round_trips_api']} (API) + "
            f"{pg['round_trips_worker']} (worker), {pg['rows_written']} rows written, {pg['wal_bytes']} WAL bytes",
            f"    Redis: {r['redis_commands_per_payout']} commands"]


def main(args: argparse.Namespace) -> int:
    if not callgrind.found():
        print("sandbox bench --cost: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    reference = reference_ms()
    started = time.monotonic()
    args.api_workers = 1  # one API process: the one counted
    stack = start_stack(args, log_level="INFO")  # counted as users run it: `sandbox up`'s default level
    try:
        result = measure(stack, args.burst or 0)
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
        over = over_budget(result, budgets_of_the_mode(budgets.get("figures", budgets), bool(args.burst)))
        for line in over:
            print(f"OVER BUDGET: {line}")
        print(f"budgets: {'all held' if not over else f'{len(over)} over'} ({args.budgets}, +3 % allowed)")
        return 1 if over else 0
    return 0

