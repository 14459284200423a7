"""API, IPN and workers as separate processes (`sandbox api|ipn|worker`) on their own
embedded PostgreSQL and Redis, for end-to-end and fault tests with real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx

from sandbox.client.blocking import tls
from sandbox.runtime import template
from sandbox.runtime.embedded import EmbeddedPostgres, EmbeddedRedis
from tests.process.conftest import REPO, free_port, wait_until

ADMIN_KEY = "sk_admin_process_" + secrets.token_hex(12)


class Services:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sandbox-procs-"))
        self.pg, self.redis = EmbeddedPostgres(self.dir), EmbeddedRedis(self.dir)
        # From the start-up template, as `sandbox up` starts: its `migrate` and `seed` below
        # find only the admin key to write.
        template.copy_fresh(self.pg.pgdata)
        self.database_url = self.pg.start()
        self.redis_url = self.redis.start()
        self.api_port, self.ipn_port = free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        self.env.update(
            SANDBOX_DATABASE_URL=self.database_url,
            SANDBOX_REDIS_URL=self.redis_url,
            SANDBOX_TIME_SCALE="0",
            SANDBOX_API_PORT=str(self.api_port),
            SANDBOX_IPN_PORT=str(self.ipn_port),
            SANDBOX_RAIL_SECRET="rail_" + secrets.token_hex(16),
            SANDBOX_ADMIN_KEY=ADMIN_KEY,
            SANDBOX_DATA_DIR=str(self.dir),
            # Recover stranded steps after 2 s instead of 10 s, so the fault tests stay quick.
            SANDBOX_SWEEP_EVERY_S="1",
            SANDBOX_SWEEP_AFTER_S="2",
        )
        self.procs: dict[str, subprocess.Popen] = {}
        self.run_cli("migrate")
        self.run_cli("seed")
        self.base = f"http://127.0.0.1:{self.api_port}/api/v1"

    def run_cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO, env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self, name: str, command: str, *, prefix: tuple[str, ...] = (), **env: str) -> subprocess.Popen:
        """`env`: settings of this process alone (another API's SANDBOX_API_PORT, say);
        `prefix`: a command it runs under (`setpriv` and its capabilities, say)."""
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (lives as long as the process)
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "sandbox.cli", command], cwd=REPO,
                                env={**self.env, **env},
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_all(self, workers: int = 1) -> None:
        self.start("api", "api")
        self.start("ipn", "ipn")
        for i in range(workers):
            self.start(f"worker{i}", "worker")
        if workers:  # /ready is 200 when the API, the IPN and a worker serve
            wait_until(lambda: self._answers(f"{self.base}/ready"), 60, "/ready to say every part serves")
        else:
            wait_until(lambda: self._answers(f"{self.base}/health") and self._answers(
                f"http://127.0.0.1:{self.ipn_port}/health"), 60, "API and IPN to answer")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            tail = (self.dir / f"{name}.log").read_text(errors="replace")[-6000:]
            raise AssertionError(f"{name} still ran 30 s after signal {sig}; the end of its log:\n{tail}") from None

    def restart_api(self) -> None:
        """Start the API again (after a kill) and wait until it is ready."""
        self.start("api", "api")
        wait_until(lambda: self._answers(f"{self.base}/ready"), 60, "the API to answer again")

    # Outages: stop and start a server on the same data dir and socket path, so every
    # process's pool can reconnect to the address it already has.
    def stop_postgres(self, mode: str = "fast") -> None:
        self.pg.stop(mode)

    def kill_postgres(self) -> None:
        """kill -9 of the postmaster, as a crash or the OOM killer takes it: no shutdown of
        any kind. Its backends end when they see it gone; returns once none is left (a
        backend still holding the shared memory would keep the next start from running)."""
        import psutil

        pid = self.pg.pid()
        assert pid is not None, "PostgreSQL is not running"
        postmaster = psutil.Process(pid)
        backends = postmaster.children()
        postmaster.kill()
        _, alive = psutil.wait_procs([postmaster, *backends], timeout=30)
        assert not alive, f"PostgreSQL processes still running 30 s after the kill: {alive}"

    def restart_postgres(self) -> None:
        """Start it again after a crash, as `sandbox up` does (EmbeddedPostgres.restart)."""
        assert self.pg.restart() == self.database_url, "PostgreSQL came back on another address"

    def start_postgres(self) -> None:
        assert self.pg.start() == self.database_url, "PostgreSQL came back on another address"

    def stop_redis(self, lose_data: bool = False) -> None:
        """`lose_data`: killed, and it comes back empty: queued jobs, in-progress marks,
        rate-limit counters and caches are gone, as after a crash with no persistence."""
        self.redis.stop(crash=lose_data)
        if lose_data:
            (self.redis.dir / "dump.rdb").unlink(missing_ok=True)
            # Valkey's append-only file is a folder of parts (Redis 7's multi-part AOF).
            shutil.rmtree(self.redis.dir / "appendonlydir", ignore_errors=True)

    def start_redis(self) -> None:
        assert self.redis.start() == self.redis_url, "Redis came back on another address"

    def freeze_postmaster(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT PostgreSQL's postmaster only: sessions already open go on,
        new connections are accepted by the kernel but never answered."""
        pid = int((self.pg.pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def freeze_postgres(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT every PostgreSQL process of the data dir (postmaster, every
        backend, the background workers): a server that hangs whole, where its own
        statement_timeout never fires and only the client's deadlines end a wait."""
        import psutil

        postmaster = psutil.Process(int((self.pg.pgdata / "postmaster.pid").read_text().split()[0]))
        procs = [postmaster, *postmaster.children(recursive=True)]
        # Stop the postmaster first (it would start new backends), thaw it last.
        for proc in procs if frozen else reversed(procs):
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def freeze_redis(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT the Redis server: it keeps its socket and accepts connections but
        answers nothing, like a server stuck or a network silently dropping packets."""
        os.kill(self.redis.pid(), signal.SIGSTOP if frozen else signal.SIGCONT)

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def client(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=tls(), base_url=self.base, headers={"X-API-KEY": key}, timeout=60,
                                 limits=httpx.Limits(max_connections=32))

    async def new_merchant(self, opening_balance: str = "10000000.00") -> tuple[httpx.AsyncClient, str]:
        async with self.client(ADMIN_KEY) as admin:
            r = await admin.post("/sandbox/merchants", json={"name": "proc", "opening_balance": opening_balance},
                                 headers={"X-Idempotency-Key": secrets.token_hex(12)})
            r.raise_for_status()
            body = r.json()
        return self.client(body["api_key"]), body["merchant"]["id"]

    async def sql(self, query: str, *args):
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def invariant(self, merchant_id: str) -> list[str]:
        from sandbox.ledger.service import check_invariant

        conn = await asyncpg.connect(self.database_url)
        try:
            return await check_invariant(merchant_id, conn=conn)
        finally:
            await conn.close()

    def close(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()
        self.pg.stop()
        # A data dir is about 120 MB: a whole run would leave gigabytes in /tmp.
        # SANDBOX_TEST_KEEP_DIRS=1 keeps them, the processes' logs with them, to read a failure.
        if not os.environ.get("SANDBOX_TEST_KEEP_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_services(workers: int = 1, **env: str) -> Iterator[Services]:
    """A started stack (API, IPN, `workers` workers), stopped on the way out; `env`
    overrides settings of those processes."""
    services = Services()
    services.env.update(env)
    try:
        services.start_all(workers=workers)
        yield services
    finally:
        services.close()


async def create_payouts(api: httpx.AsyncClient, accounts: list[str], amount: str = "1.00",
                         concurrency: int = 16) -> list[dict]:
    sem = asyncio.Semaphore(concurrency)

    async def one(account: str) -> dict:
        async with sem:
            r = await api.post("/payouts", json={"amount": amount, "destination": {
                "type": "bank", "bank_code": "HBL", "account_number": account}},
                headers={"X-Idempotency-Key": secrets.token_hex(12)})
            assert r.status_code == 201, r.text
            return r.json()

    return await asyncio.gather(*[one(a) for a in accounts])


async def wait_all_final(services: Services, merchant_id: str, count: int, timeout: float) -> float:
    """Wait until `count` payouts of the merchant are at their scenario's end; returns when."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await services.sql(
            "SELECT count(*) AS n FROM payout WHERE merchant = $1 AND next_action_at IS NULL"
            " AND status IN ('success', 'failed', 'returned', 'rejected', 'cancelled')", merchant_id)
        if rows[0]["n"] >= count:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"only {rows[0]['n']} of {count} payouts finished within {timeout}s")
        await asyncio.sleep(0.1)
