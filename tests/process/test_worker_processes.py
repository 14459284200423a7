"""Payouts moved by real processes — `sandbox api`, `sandbox ipn`, `sandbox worker` — on
their own embedded PostgreSQL and Redis, at time scale 0: every scenario row end to end,
then the faults: a worker killed with SIGKILL mid-run, Redis flushed mid-run, two workers
on one queue. After each: every payout at its scenario's end, exactly its steps, no
ledger transaction doubled, the ledger invariant intact."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import redis

from sandbox.client.blocking import tls
from sandbox.health.heartbeat import PRIORITY_KEY
from tests.helpers import wait_for
from tests.process.services import ADMIN_KEY, Services, create_payouts, wait_all_final

# suffix → (final status, exact status path, attempts, failure_code, ledger kinds in order)
EXPECT = {
    "0001": ("success", ["pending", "processing", "success"], 1, None, ["payout_created", "payout_succeeded"]),
    "0002": ("success", ["pending", "processing", "retrying", "processing", "success"], 2, None,
             ["payout_created", "payout_succeeded"]),
    "0003": ("failed", ["pending", "processing", "failed"], 1, "account_closed",
             ["payout_created", "payout_released"]),
    "0006": ("returned", ["pending", "processing", "success", "returned"], 1, "beneficiary_deceased",
             ["payout_created", "payout_succeeded", "payout_returned"]),
    "0007": ("failed", ["pending", "processing", "retrying", "processing", "retrying", "processing", "failed"], 3,
             "rail_timeout", ["payout_created", "payout_released"]),
}


@pytest.fixture(scope="module")
def services():
    s = Services()
    try:
        s.start_all(workers=1)
        yield s
    finally:
        s.close()


async def wait_status(api, payout_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        p = (await api.get(f"/payouts/{payout_id}")).json()
        if p["status"] == status:
            return p
        assert time.monotonic() < deadline, f"{payout_id} is {p['status']}, not {status}, after {timeout}s"
        await asyncio.sleep(0.05)


async def ledger_kinds(services: Services, payout_id: str) -> list[str]:
    rows = await services.sql("SELECT kind FROM ledger_transaction WHERE payout_id = $1 ORDER BY id", payout_id)
    return [r["kind"] for r in rows]


async def assert_exact(services: Services, payouts: list[dict]) -> None:
    """Each payout went exactly through its scenario: no step twice, no money twice."""
    ids = [p["id"] for p in payouts]
    rows = await services.sql(
        "SELECT id, status, status_history, attempts, failure_code, destination FROM payout WHERE id = ANY($1)", ids)
    kinds = await services.sql(
        "SELECT payout_id, array_agg(kind ORDER BY id) AS kinds FROM ledger_transaction WHERE payout_id = ANY($1)"
        " GROUP BY payout_id", ids)
    by_payout = {r["payout_id"]: list(r["kinds"]) for r in kinds}
    import json

    for row in rows:
        suffix = json.loads(row["destination"])["account_number"][-4:]
        final, path, attempts, failure, ledger = EXPECT[suffix]
        history = [h["status"] for h in json.loads(row["status_history"])]
        assert (row["status"], history, row["attempts"], row["failure_code"]) == (final, path, attempts, failure), \
            row["id"]
        assert by_payout[row["id"]] == ledger, row["id"]


@pytest.mark.parametrize("suffix", sorted(EXPECT))
async def test_scenario_end_to_end(services, suffix):
    api, merchant_id = await services.new_merchant("1000.00")
    async with api:
        p = (await create_payouts(api, [f"1234567890{suffix}"], amount="100.00"))[0]
        final, path, attempts, failure, ledger = EXPECT[suffix]
        done = await wait_status(api, p["id"], final)
        await wait_all_final(services, merchant_id, 1, 30)
        assert [h["status"] for h in done["status_history"]] == path
        assert done["attempts"] == attempts and done["failure_code"] == failure and done["psp_reference"]
        assert await ledger_kinds(services, p["id"]) == ledger
        balance = (await api.get("/balance")).json()
        paid = final == "success"
        assert balance["available"] == ("900.00" if paid else "1000.00")
        assert balance["locked"] == "0.00"
        feed = (await api.get("/balance/history", params={"since_seq": 0})).json()["data"]
        for bucket in ("available", "locked"):
            assert sum(Decimal(e["amount"]) for e in feed if e["bucket"] == bucket) == Decimal(balance[bucket])
        assert await services.invariant(merchant_id) == []


async def test_waiting_for_the_bank_then_rail_callback(services):
    api, merchant_id = await services.new_merchant("1000.00")
    async with api:
        p = (await create_payouts(api, ["12345678900004"], amount="100.00"))[0]
        deadline = time.monotonic() + 30
        while not (await api.get(f"/payouts/{p['id']}")).json()["psp_reference"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        r = await api.post(f"/sandbox/payouts/{p['id']}/simulate", json={"status": "success"},
                           headers={"X-Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 202
        done = await wait_status(api, p["id"], "success")
        assert [h["status"] for h in done["status_history"]] == ["pending", "success"]
        assert await services.invariant(merchant_id) == []


async def test_hold_released_and_review_approved(services):
    api, merchant_id = await services.new_merchant("500000.00")
    async with api, services.client(ADMIN_KEY) as admin:
        held = (await create_payouts(api, ["12345678900005"], amount="99999.00"))[0]
        big = (await create_payouts(api, ["12345678900001"], amount="100000.00"))[0]
        assert big["status"] == "in_review"
        await wait_status(api, held["id"], "on_hold")
        for payout_id, action in ((held["id"], "release"), (big["id"], "approve")):
            r = await admin.post(f"/admin/payouts/{payout_id}/{action}", json={},
                                 headers={"X-Idempotency-Key": secrets.token_hex(8)})
            assert r.status_code == 200, r.text
        a = await wait_status(api, held["id"], "success")
        b = await wait_status(api, big["id"], "success")
        assert [h["status"] for h in a["status_history"]] == ["pending", "on_hold", "processing", "success"]
        assert [h["status"] for h in b["status_history"]] == ["in_review", "pending", "processing", "success"]
        assert (await api.get("/balance")).json()["available"] == "300001.00"
        assert await services.invariant(merchant_id) == []


def mixed_accounts(n: int) -> list[str]:
    suffixes = ["0001", "0002", "0003", "0006", "0007"]
    return [f"{i:010d}{suffixes[i % len(suffixes)]}" for i in range(n)]


async def test_worker_killed_mid_run(services):
    # The worker killed runs with a one-second heartbeat: its key lives 3 s past the kill,
    # not 15 (SANDBOX_WORKER_HEARTBEAT_S). Every other worker the module's stack runs
    # (whatever a test before, in any order, left) stops cleanly first, which deletes the
    # key at once; the quick one writes it again within its second.
    for worker in [name for name in services.procs if name.startswith("worker")]:
        services.kill(worker, signal.SIGTERM)
    services.start("worker-killed", "worker", SANDBOX_WORKER_HEARTBEAT_S="1")
    api, merchant_id = await services.new_merchant()
    async with api:
        payouts = await create_payouts(api, mixed_accounts(500))
        # Kill the worker once it is well into the run.
        deadline = time.monotonic() + 60
        while True:
            done = (await services.sql("SELECT count(*) AS n FROM payout WHERE merchant = $1 AND status = 'success'",
                                       merchant_id))[0]["n"]
            if done >= 50:
                break
            assert time.monotonic() < deadline, "the worker made no progress"
            await asyncio.sleep(0.05)
        services.kill("worker-killed", signal.SIGKILL)
        killed_at = time.monotonic()
        # /ready says so once its health key lapses (3 s): 503, naming the worker.
        async with httpx.AsyncClient(verify=tls(), base_url=services.base, timeout=5) as anonymous:

            async def ready_says(worker: str):
                r = await anonymous.get("/ready")
                return r if r.json()["worker"].startswith(worker) else None

            # Deadlines, not expected times: the health key lapses in seconds and a worker starts
            # in about one, both slower on a busy machine (a 15 s deadline ran out under load).
            said = await wait_for(lambda: ready_says("down: no worker"), 60, what="/ready to say no worker")
            assert said.status_code == 503 and said.json()["status"] == "unavailable", said.text
            services.start("worker-after-kill", "worker")
            back = await wait_for(lambda: ready_says("ok"), 60, what="/ready to say a worker is back")
            assert back.status_code == 200, back.text
        finished_at = await wait_all_final(services, merchant_id, len(payouts), 120)
        print(f"\nlast stranded payout finished {finished_at - killed_at:.1f}s after kill -9")
        await assert_exact(services, payouts)
        assert await services.invariant(merchant_id) == []


async def test_ready_is_503_naming_the_ipn_while_it_is_down(services):
    """The API asks the IPN's /health at the URL the rail calls it at (and says that URL)."""
    async with httpx.AsyncClient(verify=tls(), base_url=services.base, timeout=5) as anonymous:

        async def ready():
            r = await anonymous.get("/ready")
            return r if r.status_code == 200 else None

        # The module's stack may still be settling from the test before (in any order: a
        # worker started again after a kill takes its time to say it serves).
        await wait_for(ready, 60, what="/ready to say every part serves before the IPN stops")
        services.kill("ipn", signal.SIGTERM)
        down = await anonymous.get("/ready")
        assert down.status_code == 503, down.text
        body = down.json()
        ipn_url = f"http://127.0.0.1:{services.ipn_port}"
        assert body["ipn"] == f"down: not serving at {ipn_url} (ConnectionRefusedError)", body
        assert (body["status"], body["ipn_url"], body["worker"], body["postgres"]) == (
            "unavailable", ipn_url, "ok", "ok"), body
        services.start("ipn", "ipn")

        back = await wait_for(ready, 60, what="/ready to say the IPN serves again")
        assert back.json()["ipn"] == "ok"


async def test_redis_flushed_mid_run(services):
    api, merchant_id = await services.new_merchant()
    async with api:
        payouts = await create_payouts(api, mixed_accounts(200))
        redis.Redis(unix_socket_path=services.redis.socket.as_posix()).flushall()
        await wait_all_final(services, merchant_id, len(payouts), 120)
        await assert_exact(services, payouts)
        assert await services.invariant(merchant_id) == []


async def test_two_workers_never_step_a_payout_twice(services):
    services.start("worker-second", "worker")
    api, merchant_id = await services.new_merchant()
    async with api, _stopped_after(services, "worker-second"):
        payouts = await create_payouts(api, mixed_accounts(300))
        await wait_all_final(services, merchant_id, len(payouts), 120)
        await assert_exact(services, payouts)
        statuses = Counter(r["status"] for r in await services.sql(
            "SELECT status FROM payout WHERE merchant = $1", merchant_id))
        assert statuses == {"success": 120, "failed": 120, "returned": 60}
        assert await services.invariant(merchant_id) == []


@contextlib.asynccontextmanager
async def _stopped_after(services: Services, name: str) -> AsyncIterator[None]:
    """The module's stack as the test found it: its extra process stopped (SIGTERM) at the end."""
    try:
        yield
    finally:
        services.kill(name, signal.SIGTERM)


async def test_the_worker_and_its_database_processes_yield_to_the_api(services):
    """By default the worker runs at niceness 3, and so do the PostgreSQL processes serving
    its connections (the embedded server is this machine's): on shared cores the API gets
    about twice their share. The API and its own database processes stay at 0."""
    worker = next(proc for name, proc in services.procs.items() if name.startswith("worker"))
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == 3
    assert os.getpriority(os.PRIO_PROCESS, services.procs["api"].pid) == 0
    backends = [r["pid"] for r in await services.sql(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")]
    nices = Counter(os.getpriority(os.PRIO_PROCESS, pid) for pid in backends)
    assert nices[3] >= 2, nices  # the worker's pool keeps two connections at least
    assert nices[0] >= 1, nices  # the API's and the IPN's
    assert set(nices) <= {0, 3}, nices
    assert redis.Redis.from_url(services.redis_url).get(PRIORITY_KEY) is None  # nothing for `sandbox status` to say


async def test_a_worker_that_cannot_nice_its_database_processes_says_why(services):
    """Root with neither CAP_SYS_NICE nor CAP_SETUID (the embedded server runs as a user of
    its own): the worker runs niced, its server processes cannot be, and it says so in its
    log and to `sandbox status` (through Redis)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and util-linux's setpriv, to start a worker without CAP_SYS_NICE and CAP_SETUID")
    dropped = "-sys_nice,-setuid,-setgid"
    worker = services.start("worker-unniced", "worker", prefix=("setpriv", f"--bounding-set={dropped}",
                                                                f"--inh-caps={dropped}", "--"))
    client = redis.Redis.from_url(services.redis_url)
    try:
        async def word():
            return client.get(PRIORITY_KEY)

        said = await wait_for(word, 60, what="the worker's word on its priority")
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == 3
        why = said.decode()
        assert why.startswith("its PostgreSQL server processes run at the server's priority, and only the worker "
                              "itself at niceness 3: its server runs as user "), why
        assert "neither CAP_SYS_NICE nor a way to act as that user" in why, why
        log = services.dir / "worker-unniced.log"

        async def logged():  # its log lines are written in batches
            return why.split(":")[0] in log.read_text()

        await wait_for(logged, 30, what=lambda: f"the warning in the worker's log: {log.read_text()[-2000:]}")
    finally:
        services.kill("worker-unniced", signal.SIGTERM)
        client.delete(PRIORITY_KEY)
        client.close()
