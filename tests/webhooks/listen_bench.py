"""Deliveries through `sandbox listen` against deliveries to a URL, in one run, at time
scale 0: throughput, and the CPU each process spends per delivery.

    uv run python -m tests.webhooks.listen_bench [--events 3000]

Real processes on embedded PostgreSQL and Redis in a temporary directory: the API
(`sandbox api`, one process), a worker (`sandbox worker`), a receiver that answers 200 at
once (tests/webhooks/bench.py's), and for the second phase `sandbox listen`.

1. URL: `--events` events for a merchant whose one endpoint is the receiver's URL.
2. Listener: as many for another merchant whose one endpoint is a listener endpoint;
   `sandbox listen --forward-to` the same receiver.

Each phase writes its events to the outbox (as tests/webhooks/bench.py does) and waits
until every delivery has succeeded; it reports deliveries a second (first event written
to last delivery recorded) and, for the worker, the API and the listener, CPU
milliseconds (user + system, the process and its children, from /proc) per delivery."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

from tests.helpers import free_port
from tests.webhooks.bench import _port_open, _spawn, _stop, _until

SANDBOX = str(Path(sys.executable).with_name("sandbox"))
KEYS = ("sk_test_bench_url_000000000000000001", "sk_test_bench_listen_00000000000000001")
PAYLOAD = {"id": "po_bench", "object": "payout", "amount": "1.00", "currency": "PKR", "status": "success"}


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([SANDBOX, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_s(process: subprocess.Popen) -> float:
    """User + system seconds of the process and its children so far."""
    try:
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in tree:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


async def phase(merchant_id: str, events: int, processes: dict[str, subprocess.Popen]) -> dict:
    from sandbox import db
    from sandbox.events import outbox

    before = {name: cpu_s(p) for name, p in processes.items()}
    started = time.perf_counter()
    for start in range(0, events, 500):
        async with db.transaction():
            for _ in range(min(500, events - start)):
                await outbox.emit(merchant_id, "payout.success", PAYLOAD, None)

    async def all_delivered() -> bool:
        done = await db.fetchval("SELECT count(*) FROM webhook_delivery WHERE merchant = $1 AND status = 'succeeded'",
                                 merchant_id)
        return done >= events

    await _until(all_delivered, 900, f"{events} deliveries")
    took = time.perf_counter() - started
    used = {name: cpu_s(p) - before[name] for name, p in processes.items()}
    return {"events": events, "seconds": round(took, 2), "deliveries_per_s": round(events / took, 1),
            "cpu_ms_per_delivery": {name: round(s * 1000 / events, 3) for name, s in used.items()}}


async def bench(database_url: str, redis_url: str, events: int) -> dict:
    env = {**os.environ, "SANDBOX_TIME_SCALE": "0", "SANDBOX_DATABASE_URL": database_url,
           "SANDBOX_REDIS_URL": redis_url, "SANDBOX_API_WORKERS": "1", "SANDBOX_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    from sandbox import db, onboarding, redis_client
    from sandbox.bench.harness import stores
    from sandbox.health.heartbeat import HEALTH_KEY
    from sandbox.webhooks.delivery import listener_link
    from sandbox.webhooks.endpoints import endpoints, listeners
    from sandbox.webhooks.model.listener_schemas import ListenerOpen
    from sandbox.webhooks.model.schemas import EndpointCreate

    await stores.open_fresh(database_url, redis_url)
    api_port, receiver_port = free_port(), free_port()
    env["SANDBOX_API_PORT"] = str(api_port)
    out = Path(tempfile.mkdtemp(prefix="listen-bench-")) / "arrivals.json"
    receiver = _spawn(["-m", "tests.webhooks.bench", "receiver", "--port", str(receiver_port), "--out", str(out)],
                      env)
    api = start(["api"], env)
    worker = start(["worker"], env)
    listener = None
    try:
        await _until(lambda: _port_open(receiver_port), 60, "the receiver")
        await _until(lambda: _port_open(api_port), 60, "the API")
        by_url = await onboarding.open_merchant("bench: url", 0, api_key=KEYS[0])
        await endpoints.create(by_url.id, EndpointCreate(url=f"http://127.0.0.1:{receiver_port}/hook"))
        by_listener = await onboarding.open_merchant("bench: listener", 0, api_key=KEYS[1])
        opened = await listeners.open_listener(by_listener.id, ListenerOpen(name="bench"))
        await _until(lambda: redis_client.get().exists(HEALTH_KEY), 60, "the worker's heartbeat")
        url = await phase(by_url.id, events, {"worker": worker, "api": api})
        listener = start(["listen", "--forward-to", f"http://127.0.0.1:{receiver_port}/hook",
                          "--url", f"http://127.0.0.1:{api_port}", "--key", KEYS[1], "--name", "bench"], env)
        streams = listener_link.streams_key(opened.endpoint.id)
        await _until(lambda: redis_client.get().zcard(streams), 60, "the listener's stream to open")
        through_listener = await phase(by_listener.id, events, {"worker": worker, "api": api, "listener": listener})
    finally:
        for process in (listener, worker, api):
            if process is not None:
                _stop(process)
        _stop(receiver)
        await db.stop()
        shutil.rmtree(out.parent, ignore_errors=True)
    return {"url_endpoint": url, "listener_endpoint": through_listener,
            "at": datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="listen-bench-"))
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    try:
        result = asyncio.run(bench(pg.start(), rd.start(), args.events))
    finally:
        rd.stop()
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
