"""A 100,000-row payout batch through real processes, at time scale 0.

    uv run python -m sandbox.bench.standalone.batch [--rows 100000] [--until-final] [--workers 1]

Runs `sandbox api` and one `sandbox worker` as processes on embedded PostgreSQL and
Redis, writes a CSV with `sandbox make-batch`'s generator, uploads it over HTTP and
prints: time to accept (202), time until the batch is completed (every payout created),
the API process's peak RSS (VmHWM) before and after the upload, and whether the ledger
invariant holds. `--until-final` also waits for every payout to reach the end of its
scenario (or the state where it waits for a person: on_hold, awaiting the rail)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from sandbox.settings import child_env

REPO = Path(__file__).resolve().parents[3]
ADMIN_KEY = "sk_admin_bench_" + secrets.token_hex(12)


def env_data_dir(env: dict) -> Path:
    """The run's data dir (deleted at the end): the CSV is written there too."""
    return Path(env["SANDBOX_DATA_DIR"])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cli(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


async def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as c:
        while True:
            try:
                if (await c.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            await asyncio.sleep(0.2)


async def measure(rows: int, until_final: bool, env: dict, api_pid: int, base: str, admin_key: str = ADMIN_KEY) -> dict:
    from sandbox.batches import sample
    from sandbox.ledger.service import check_invariant

    await _wait(base + "/ready")
    async with httpx.AsyncClient(base_url=base, timeout=600) as c:
        r = await c.post("/sandbox/merchants", json={"name": "bench", "opening_balance": "90000000.00"},
                         headers={"X-API-KEY": admin_key, "X-Idempotency-Key": secrets.token_hex(8)})
        r.raise_for_status()
        key, merchant_id = r.json()["api_key"], r.json()["merchant"]["id"]
        path = env_data_dir(env) / "batch.csv"
        sample.write(path, rows)
        rss_before = _peak_rss_mb(api_pid)
        headers = {"X-API-KEY": key, "X-Idempotency-Key": secrets.token_hex(8)}
        t0 = time.perf_counter()
        with path.open("rb") as f:
            r = await c.post("/payout-batches", files={"file": ("batch.csv", f, "text/csv")}, headers=headers)
        accepted_s = time.perf_counter() - t0
        assert r.status_code == 202, r.text
        batch_id = r.json()["id"]
        rss_after = _peak_rss_mb(api_pid)
        print(f"accepted {rows} rows in {accepted_s:.2f}s; API peak RSS {rss_before:.1f} -> {rss_after:.1f} MB",
              file=sys.stderr, flush=True)
        while True:
            body = (await c.get(f"/payout-batches/{batch_id}", headers={"X-API-KEY": key})).json()
            if body["status"] != "processing":
                break
            await asyncio.sleep(0.5)
        completed_s = time.perf_counter() - t0
        print(f"batch {body['status']} after {completed_s:.2f}s", file=sys.stderr, flush=True)
        final_s = None
        conn = await asyncpg.connect(env["SANDBOX_DATABASE_URL"])
        try:
            while until_final:
                left = await conn.fetchval(
                    "SELECT count(*) FROM payout WHERE merchant = $1 AND next_action_at IS NOT NULL", merchant_id)
                if left == 0:
                    final_s = time.perf_counter() - t0
                    break
                await asyncio.sleep(1)
            problems = await check_invariant(merchant_id, conn=conn)
            rss_end = _peak_rss_mb(api_pid)
        finally:
            await conn.close()
    return {
        "rows": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "accept_s": round(accepted_s, 2),
        "completed_s": round(completed_s, 2),
        "all_payouts_final_s": round(final_s, 2) if final_s else None,
        "status": body["status"],
        "counts": {k: v for k, v in body["counts"].items() if v},
        "api_peak_rss_mb_before_upload": round(rss_before, 1),
        "api_peak_rss_mb_after_upload": round(rss_after, 1),
        "api_peak_rss_mb_at_end": round(rss_end, 1),
        "ledger_invariant": "holds" if not problems else problems[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--until-final", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1, like `sandbox up`)")
    args = parser.parse_args()
    from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    procs: list[subprocess.Popen] = []
    try:
        port = 18000 + secrets.randbelow(1000)
        env = child_env((), {}, without_prefix="SANDBOX_")  # the run's own SANDBOX_* only
        env.update(SANDBOX_DATABASE_URL=pg.start(), SANDBOX_REDIS_URL=rd.start(), SANDBOX_TIME_SCALE="0",
                   SANDBOX_API_PORT=str(port), SANDBOX_IPN_PORT=str(port + 1000), SANDBOX_ADMIN_KEY=ADMIN_KEY,
                   SANDBOX_LOG_LEVEL="WARNING", SANDBOX_DATA_DIR=str(data_dir))
        _cli(env, "migrate")
        _cli(env, "seed")
        for command in ("api", "ipn", *["worker"] * args.workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "sandbox.cli", command], cwd=REPO, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        print(asyncio.run(measure(args.rows, args.until_final, env, procs[0].pid,
                                  f"http://127.0.0.1:{port}/api/v1")))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        rd.stop()
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
