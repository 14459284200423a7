"""How long one advance of a manual test clock takes with many steps due.

    uv run python -m sandbox.bench.standalone.clock [--payouts 500] [--suffix 0001]

Starts the API in this process (real HTTP), makes a merchant on a manual clock, creates
the payouts through the API (scenario 0001: two steps each, so 500 payouts give 1,000
due steps), then times `POST /sandbox/clock/advance {"until": "idle"}` from request to
answer (everything applied and committed). Uses SANDBOX_DATABASE_URL / SANDBOX_REDIS_URL
when set, otherwise embedded servers in a temporary directory."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import time

import httpx
import uvicorn
import uvloop  # as the API runs under uvicorn

from sandbox.runtime.embedded import servers_for_a_run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run(payouts: int, suffix: str, database_url: str, redis_url: str) -> dict:
    admin_key = "sk_admin_bench_" + secrets.token_hex(12)
    os.environ.update(SANDBOX_TIME_SCALE="0", SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url,
                      SANDBOX_ADMIN_KEY=admin_key, SANDBOX_LOG_LEVEL="warning")
    from sandbox import db
    from sandbox.api.app import create_app
    from seeds.seed import seed

    db.configure(database_url)
    await db.start(1, 2)
    await db.migrate()
    await seed(admin_key)
    await db.stop()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # it failed to start: say why
            task.result()
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            def headers(key: str) -> dict:
                return {"X-API-KEY": key, "X-Idempotency-Key": secrets.token_hex(16)}

            r = await http.post("/sandbox/merchants", json={"name": "bench clock", "clock": "manual",
                                                            "opening_balance": f"{payouts * 10}.00"},
                                headers=headers(admin_key))
            r.raise_for_status()
            key = r.json()["api_key"]
            body = {"amount": "1.00", "currency": "PKR", "destination": {
                "type": "bank", "bank_code": "HBL", "account_number": "1234567890" + suffix}}
            sem = asyncio.Semaphore(16)

            async def create() -> None:
                async with sem:
                    (await http.post("/payouts", json=body, headers=headers(key))).raise_for_status()

            await asyncio.gather(*[create() for _ in range(payouts)])
            t0 = time.perf_counter()
            r = await http.post("/sandbox/clock/advance", json={"until": "idle"}, headers=headers(key))
            elapsed = time.perf_counter() - t0
            r.raise_for_status()
            answer = r.json()
    finally:
        server.should_exit = True
        await task
    return {
        "payouts": payouts,
        "suffix": suffix,
        "steps_applied": answer["steps_applied"],
        "transitions": len(answer["transitions"]),
        "advance_s": round(elapsed, 2),
        "steps_per_s": round(answer["steps_applied"] / elapsed, 1),
        "idle": answer["idle"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payouts", type=int, default=500)
    parser.add_argument("--suffix", default="0001")
    args = parser.parse_args()

    with servers_for_a_run("sandbox-bench-") as (database_url, redis_url):
        print(uvloop.run(run(args.payouts, args.suffix, database_url, redis_url)))


if __name__ == "__main__":
    main()
