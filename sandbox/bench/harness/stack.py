"""The stack `sandbox bench` measures: embedded PostgreSQL and Redis in a new temporary
data dir and the environment every child runs with, started and stopped; merchants made
through the admin route, and pgbench's own with fixed ids; `with_db` runs a step with this
process's pool on the bench database."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.bench.harness.procs import cli, free_port, spawn, stop, wait_api, wait_http
from sandbox.settings import child_env

OPENING_BALANCE = "10000000.00"  # per merchant: covers any run at 1.00 a payout


@dataclass
class Stack:
    data_dir: Path
    env: dict
    database_url: str
    api_url: str
    admin_key: str
    logs: Path
    servers: list = field(default_factory=list)  # embedded PostgreSQL and Redis, started here
    procs: list[subprocess.Popen] = field(default_factory=list)


def start_stack(args: argparse.Namespace, log_level: str = "WARNING") -> Stack:
    """`log_level`: WARNING for the throughput phases (no line a request, in the API as in
    the hello-world it is compared with); the cost bench and the webhook wait run at the
    default level, INFO, as `sandbox up` does."""
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    logs = data_dir / "logs"
    logs.mkdir()
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    database_url = pg.start()
    redis_url = rd.start()
    port = free_port()
    admin_key = "sk_admin_bench_" + secrets.token_hex(12)
    env = child_env((), {}, without_prefix="SANDBOX_")  # the run's own SANDBOX_* only
    env.update(
        SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url, SANDBOX_DATA_DIR=str(data_dir),
        SANDBOX_API_PORT=str(port), SANDBOX_IPN_PORT=str(free_port()), SANDBOX_ADMIN_KEY=admin_key,
        # Steps due at once: the worker phase measures work, not simulated waiting.
        SANDBOX_TIME_SCALE="0",
        SANDBOX_LOG_LEVEL=log_level,
        # The default 1000/s per key would answer the hot merchant with 429s; the check
        # itself still runs on every request.
        SANDBOX_RATE_LIMIT="1000000/second",
        # The same for the API, hello-world and the ceilings: all are served by sandbox.runtime.serving.serve.
        SANDBOX_API_WORKERS=str(args.api_workers),
    )
    env.update(_settings(args.env))
    if getattr(args, "webhook_client", None):  # `--webhook-client`: the soak's A/B
        env["SANDBOX_WEBHOOK_CLIENT"] = args.webhook_client
    return Stack(data_dir=data_dir, env=env, database_url=database_url, api_url=f"http://127.0.0.1:{port}",
                 admin_key=admin_key, logs=logs, servers=[pg, rd])


def _settings(given: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in given:
        name, _, value = item.partition("=")
        pairs[name] = value
    wrong = [name for name in pairs if not name.startswith("SANDBOX_")]
    if wrong:
        raise SystemExit(f"sandbox bench --env takes SANDBOX_NAME=VALUE, not {', '.join(wrong)}")
    return pairs


def serve_api(stack: Stack) -> subprocess.Popen:
    """The stack's database migrated and seeded, and `sandbox api` serving it (stopped with the stack)."""
    cli(stack.env, "migrate")
    cli(stack.env, "seed")
    log = stack.logs / "api.log"
    api = spawn([sys.executable, "-m", "sandbox.cli", "api"], stack.env, log)
    stack.procs.append(api)
    wait_api(stack.api_url, api, log)
    return api


def stop_stack(stack: Stack, keep: bool) -> None:
    for proc in stack.procs:
        stop(proc)
    # The instances that started them: Redis is our child and must be reaped by them.
    for server in reversed(stack.servers):
        server.stop()
    if not keep:
        shutil.rmtree(stack.data_dir, ignore_errors=True)


def start_receiver(stack: Stack) -> str:
    """The merchants' webhook receiver (sandbox/bench/servers/receiver.py), serving; its URL."""
    port = free_port()
    log = stack.logs / "receiver.log"
    receiver = spawn([sys.executable, "-m", "sandbox.bench.servers.receiver", str(port)], stack.env, log)
    stack.procs.append(receiver)
    hooks = f"http://127.0.0.1:{port}/hooks"
    wait_http(hooks, receiver, log)
    return hooks


async def make_merchants(stack: Stack, count: int) -> list[str]:
    """Merchants with keys through the admin route, as an integrator's CI would."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.api_url + "/api/v1", timeout=30) as client:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> str:
            async with sem:
                r = await client.post("/sandbox/merchants",
                                      json={"name": f"bench {i}", "opening_balance": OPENING_BALANCE},
                                      headers={"X-API-KEY": stack.admin_key,
                                               "X-Idempotency-Key": f"bench-merchant-{i}"})
                r.raise_for_status()
                return r.json()["api_key"]

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def with_db(stack: Stack, step):
    """Run `step()` with this process's pool on the bench database."""
    from sandbox import db

    async with db.running(stack.database_url, 1, 4):
        return await step()


async def pgbench_merchants(count: int) -> None:
    """Merchants pgbench moves money for (fixed ids: its script names them)."""
    from sandbox import onboarding
    from sandbox.core.money import parse_amount

    for i in range(1, count + 1):
        await onboarding.open_merchant(f"pgbench {i}", parse_amount(OPENING_BALANCE), merchant_id=f"mch_pgbench_{i}",
                               api_key=f"sk_test_pgbench_{i}_" + secrets.token_urlsafe(16))
