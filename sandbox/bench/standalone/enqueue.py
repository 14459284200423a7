"""What the one-round-trip enqueue (sandbox/enqueue.py) saves over arq's own
`enqueue_job`, measured against an embedded Redis on a Unix socket:

- `arq`: `ArqRedis.enqueue_job`, one job after another (WATCH, EXISTS, then MULTI/EXEC:
  three round trips each);
- `copy`: `queue.enqueue`, the Lua script (one round trip each);
- `after-commit call + job`: a transaction's enqueue riding in its after-commit call beside
  the version bump it sends anyway (`after-commit call alone`): no round trip of its own.

    python -m sandbox.bench.standalone.enqueue [--jobs 5000]

Prints microseconds per enqueue for each."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path


async def measure(redis_url: str, jobs: int) -> dict[str, float]:
    from sandbox import enqueue as queue
    from sandbox import redis_client

    redis = await redis_client.start(redis_url)
    figures = {}
    try:
        await redis.flushdb()
        started = time.perf_counter()
        for _ in range(jobs):
            await redis.enqueue_job("payout_step", "po_bench")
        figures["arq"] = (time.perf_counter() - started) / jobs * 1e6
        await redis.flushdb()
        started = time.perf_counter()
        for _ in range(jobs):
            await queue.enqueue("payout_step", "po_bench")
        figures["copy"] = (time.perf_counter() - started) / jobs * 1e6
        await redis.flushdb()

        def bump(commands) -> None:
            commands.incrby_expire("sandbox:bench:version", 1, 60)

        def step(commands) -> None:  # what enqueue_after_commit adds to the call
            keys, argv = queue._script_args(redis, "payout_step", ("po_bench",), None, None)
            commands.enqueue(keys, argv)

        # The call a payout transaction sends after commit without the enqueue, then with
        # it: the difference is what the enqueue itself costs there.
        for name, adds in (("after-commit call alone", [bump]), ("after-commit call + job", [bump, step])):
            started = time.perf_counter()
            for _ in range(jobs):
                await queue._send(adds)
            figures[name] = (time.perf_counter() - started) / jobs * 1e6
        await redis.flushdb()
    finally:
        await redis_client.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    args = parser.parse_args()
    from sandbox.runtime.embedded import EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-bench-enqueue-"))
    redis = EmbeddedRedis(data_dir)
    try:
        figures = asyncio.run(measure(redis.start(), args.jobs))
    finally:
        redis.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    for name, us in figures.items():
        print(f"{name:>15}: {us:7.1f} µs per enqueue")


if __name__ == "__main__":
    main()
