"""`sandbox bench --wait`: how long a CI user's test waits for the webhook it asserts on
(docs/benchmark.md#time-to-the-webhook-a-test-waits-for).

The stack as `sandbox up` runs it (one API process, the IPN service, one worker, logs at
the default level) at `SANDBOX_TIME_SCALE=0`, and a webhook receiver in this process.
One payout at a time, each the only work in the stack: the time from the POST's answer to
its `payout.success` webhook received (account `…0001`), and to its `payout.failed`
(`…0003`), as p50 and p99 over the payouts counted, after a few of warm-up. Both ends are
read on this process's monotonic clock, so no two clocks are compared.

A figure of time, not of work: it moves with the machine's load. Read it beside the
reference loop printed with it, and compare two commits side by side on one machine."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from sandbox.bench.harness.cpu import reference_ms
from sandbox.bench.harness.procs import cli, free_port, say, spawn, wait_http
from sandbox.bench.harness.stack import OPENING_BALANCE, Stack, start_stack, stop_stack

PAYOUTS = 40  # counted of each kind
WARMUP = 5  # of each kind, before any is counted
WAIT_S = 30.0  # the longest a webhook may take before the run fails
ACCOUNTS = {"payout.success": "12345678900001", "payout.failed": "12345678900003"}


class Receiver:
    """The merchant's endpoint: answers each webhook 200 and notes when each payout's
    final event came (`payout.success` or `payout.failed`)."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.wall: dict[tuple[str, str], float] = {}  # the same on the wall clock, beside the logs' times
        self._waiting: dict[tuple[str, str], asyncio.Future] = {}

    async def handle(self, request):
        from aiohttp import web

        at = time.monotonic()
        event = json.loads(await request.read())
        key = (event["data"]["id"], event["type"])
        self.arrived.setdefault(key, at)
        self.wall.setdefault(key, time.time())
        if (waiter := self._waiting.pop(key, None)) is not None and not waiter.done():
            waiter.set_result(at)
        return web.Response(status=200)

    async def wait(self, payout_id: str, event_type: str) -> float:
        key = (payout_id, event_type)
        if key in self.arrived:
            return self.arrived[key]
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[key] = waiter
        return await asyncio.wait_for(waiter, WAIT_S)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p99 of 40 is the largest but none: the 40th of 40 is p100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


async def _measure(stack: Stack, payouts: int, warmup: int) -> dict:
    import httpx
    from aiohttp import web

    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with httpx.AsyncClient(base_url=stack.api_url + "/api/v1", timeout=WAIT_S) as client:
            r = await client.post("/sandbox/merchants", json={"name": "wait", "opening_balance": OPENING_BALANCE},
                                  headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": "wait-merchant"})
            r.raise_for_status()
            client.headers["X-API-KEY"] = r.json()["api_key"]
            r = await client.post("/webhook-endpoints", json={"url": f"http://127.0.0.1:{port}/hooks",
                                                              "events": ["payout.*"]},
                                  headers={"X-Idempotency-Key": "wait-endpoint"})
            r.raise_for_status()
            waits: dict[str, list[float]] = {kind: [] for kind in ACCOUNTS}
            timeline: list[dict] = []
            for i in range(warmup + payouts):
                for kind, account in ACCOUNTS.items():  # in turn, so the machine's drift falls on both
                    body = {"amount": "1.00", "reference": f"wait-{kind}-{i}",
                            "destination": {"type": "bank", "bank_code": "HBL", "account_number": account}}
                    r = await client.post("/payouts", json=body, headers={"X-Idempotency-Key": f"wait-{kind}-{i}"})
                    answered, answered_wall = time.monotonic(), time.time()
                    r.raise_for_status()
                    payout = r.json()["id"]
                    arrived = await receiver.wait(payout, kind)
                    if i >= warmup:
                        waits[kind].append((arrived - answered) * 1000)
                        timeline.append({"payout": payout, "kind": kind, "answered": answered_wall,
                                         "arrived": receiver.wall[(payout, kind)]})
    finally:
        await runner.cleanup()
    figures = {kind: {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(percentile(ms, 0.99), 1),
                      "max_ms": round(max(ms), 1), "payouts": len(ms)}
               for kind, ms in waits.items()}
    # Each payout's answer and webhook on the wall clock, to read beside the processes' log
    # lines (where the wait goes: docs/benchmark.md).
    return {**figures, "timeline": timeline}


def start_processes(stack: Stack) -> None:
    """The API, the IPN service and a worker, natively, as `sandbox up` starts them."""
    for part in ("api", "ipn", "worker"):
        stack.procs.append(spawn([sys.executable, "-m", "sandbox.cli", part], stack.env, stack.logs / f"{part}.log"))
    wait_http(stack.api_url + "/api/v1/ready", stack.procs[0], stack.logs / "api.log")


def measure(stack: Stack, payouts: int = PAYOUTS, warmup: int = WARMUP) -> dict:
    return asyncio.run(_measure(stack, payouts, warmup))


def render(r: dict) -> str:
    lines = [f"time to the webhook a test waits for (time scale 0, one payout at a time, "
             f"{r['payout.success']['payouts']} each after {WARMUP} of warm-up; from the POST's answer)"]
    for kind in ACCOUNTS:
        figures = r[kind]
        lines.append(f"  {kind:16} p50 {figures['p50_ms']:6.1f} ms   p99 {figures['p99_ms']:6.1f} ms   "
                     f"max {figures['max_ms']:6.1f} ms")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    reference = reference_ms()
    args.api_workers = 1
    stack = start_stack(args, log_level="INFO")
    try:
        cli(stack.env, "migrate")
        cli(stack.env, "seed")
        start_processes(stack)
        say(f"{WARMUP} + {PAYOUTS} payouts of each kind, one at a time")
        result = measure(stack)
    finally:
        stop_stack(stack, args.keep)
    print(render(result))
    print(f"  the machine's reference loop {reference} ms (a time figure moves with it)")
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "reference_loop_ms": reference}, indent=2) + "\n")
    return 0
