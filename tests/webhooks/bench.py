"""Webhook benchmark at time scale 0: delivery throughput and commit-to-arrival latency.

    uv run python -m tests.webhooks.bench [--events 5000] [--payouts 300] [--rate 30]

Runs a real worker process (`worker.main`) and a receiver process that answers 200 at
once (uvicorn), on embedded PostgreSQL and Redis in a temporary directory (or the
servers named by SANDBOX_DATABASE_URL / SANDBOX_REDIS_URL).

1. Throughput: `--events` events are written to the outbox (one endpoint subscribed)
   before the worker starts; reported is how many reach the receiver per second.
2. Latency: payouts of the `success` scenario (created, processing, success: three
   events each) are made at `--rate` per second while the worker runs; for each event,
   the time from its status change to its arrival at the receiver. The event's
   timestamp is taken inside the transaction that commits it (an upper bound on the
   latency from the commit); for `payout.created` the latency is also measured from
   the moment the create call returned, after its commit (a lower bound)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sandbox.bench.harness import stores
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


# --- the receiver process -----------------------------------------------------------


def receiver_main(port: int, out: Path) -> None:
    import uvicorn

    arrivals: list[tuple[str, float]] = []

    async def app(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await asyncio.to_thread(out.write_text, json.dumps(arrivals))
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        while (await receive()).get("more_body"):
            pass
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                arrivals.append((value.decode(), time.time()))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


# --- the benchmark ------------------------------------------------------------------


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _ms(values: list[float]) -> dict:
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(_percentile(values, 0.95) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


async def bench(database_url: str, redis_url: str, events: int, payouts: int, rate: float) -> dict:
    os.environ.update(SANDBOX_TIME_SCALE="0", SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url)
    from sandbox import db, onboarding, redis_client
    from sandbox.events import outbox
    from sandbox.payouts.lifecycle import service as payouts_service
    from sandbox.payouts.model.schemas import DestinationIn, PayoutCreate
    from sandbox.webhooks.endpoints import endpoints
    from sandbox.webhooks.model.schemas import EndpointCreate

    await stores.open_fresh(database_url, redis_url)

    env = {**os.environ}
    port = free_port()
    out = Path(tempfile.mkdtemp(prefix="webhook-bench-")) / "arrivals.json"
    receiver = _spawn(["-m", "tests.webhooks.bench", "receiver", "--port", str(port), "--out", str(out)], env)
    worker = None
    try:
        await _until(lambda: _port_open(port), 30, "the receiver")
        merchant = await onboarding.open_merchant("webhook bench", 10_000_000_00)
        await endpoints.create(merchant.id, EndpointCreate(url=f"http://127.0.0.1:{port}/hook", events=["*"]))

        # 1. Throughput: a full outbox, then the worker.
        sample = {"id": "po_bench", "object": "payout", "amount": "1.00", "currency": "PKR", "status": "success",
                  "status_history": [{"status": "pending", "at": "2026-01-01T00:00:00.000Z", "reason": None}]}
        for start in range(0, events, 500):
            async with db.transaction():
                for _ in range(min(500, events - start)):
                    await outbox.emit(merchant.id, "payout.success", sample, None)
        started = time.perf_counter()
        worker = _spawn(["-c", "from worker.main import run; run()"], env)

        async def all_delivered() -> bool:
            done = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE merchant = $1"
                                     " AND status = 'succeeded'", merchant.id)
            return done >= events

        await _until(all_delivered, 600, f"{events} deliveries")
        drained_s = time.perf_counter() - started  # includes the worker process starting up

        # 2. Latency: payouts at a steady rate while the worker runs.
        body = PayoutCreate(amount="1.00", destination=DestinationIn(type="bank", bank_code="HBL",
                                                                     account_number="12345678900001"))
        returned: dict[str, float] = {}
        interval = 1 / rate
        next_at = time.perf_counter()
        for _ in range(payouts):
            made = await payouts_service.create(merchant.id, body)
            returned[made.id] = time.time()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

        async def all_payout_events_delivered() -> bool:
            done = await db.fetchval(
                "SELECT count(*) FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event"
                " WHERE d.merchant = $1 AND e.payout_id IS NOT NULL AND d.status = 'succeeded'", merchant.id)
            return done >= 3 * payouts

        await _until(all_payout_events_delivered, 300, "the payouts' webhooks")
        event_rows = await db.fetch("SELECT id, type, payout_id, created_at FROM outbox_event WHERE merchant = $1",
                                    merchant.id)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(receiver)
        await redis_client.stop()
        await db.stop()

    arrivals = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    first_arrival: dict[str, float] = {}
    for webhook_id, at in arrivals:
        first_arrival.setdefault(webhook_id, at)
    bulk = sorted(at for (webhook_id, at) in arrivals if webhook_id in {
        r["id"] for r in event_rows if r["payout_id"] is None})
    from_event, from_return = [], []
    for r in event_rows:
        if r["payout_id"] is None:
            continue
        arrived = first_arrival[r["id"]]
        from_event.append(arrived - r["created_at"].timestamp())
        if r["type"] == "payout.created":
            from_return.append(arrived - returned[r["payout_id"]])
    return {
        "throughput": {
            "events": events,
            "delivered_per_s_first_to_last_arrival": round((len(bulk) - 1) / (bulk[-1] - bulk[0]), 1),
            "delivered_per_s_including_worker_start": round(events / drained_s, 1),
        },
        "latency_status_change_to_arrival": {"payouts": payouts, "rate_per_s": rate, **_ms(from_event)},
        "latency_create_returned_to_arrival": _ms(from_return),
        "at": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "receiver"])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--payouts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="payouts per second in the latency run")
    parser.add_argument("--port", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.mode == "receiver":
        receiver_main(args.port, args.out)
        return
    from sandbox.settings import get_settings

    settings = get_settings()
    if settings.database_url and settings.redis_url:
        result = asyncio.run(bench(settings.database_url, settings.redis_url, args.events, args.payouts, args.rate))
    else:
        from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

        data_dir = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
        pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
        try:
            result = asyncio.run(bench(pg.start(), rd.start(), args.events, args.payouts, args.rate))
        finally:
            rd.stop()
            pg.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
