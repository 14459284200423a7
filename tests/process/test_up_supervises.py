"""`sandbox up` keeps the stack up: the worker, the API, embedded Redis and embedded
PostgreSQL are each killed with SIGKILL under one running `up`, and each time `up` logs
it, starts it again, and the stack serves again on its own: payouts in flight reach
their scenario's end, a request retried with its key is one payout, and the ledger
invariant holds. The recovery tests share one `up` (its start is most of the run time),
each leaving it serving, so they run in any order; a worker that keeps dying makes an `up`
of the test's own give up and stop everything."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from sandbox.runtime.embedded import EmbeddedRedis
from sandbox.runtime.runner import GIVE_UP_AFTER
from tests.process.conftest import Up, alive, scratch_dir, servers_in, wait_until

RECOVERY_TIMEOUT = 60.0
FINAL = ("success", "failed", "returned", "rejected", "cancelled")


@contextlib.contextmanager
def serving() -> Iterator[Up]:
    """A ready `up` in a scratch dir, stopped (and its dir removed) on the way out."""
    with scratch_dir() as path:
        # Recover stranded steps after 2 s instead of 10 s, so the tests stay quick.
        up = Up(path / "data", SANDBOX_SWEEP_EVERY_S="1", SANDBOX_SWEEP_AFTER_S="2")
        try:
            up.wait_ready()
            yield up
        finally:
            up.close()


@pytest.fixture(scope="module")
def run():
    """The `up` the recovery tests share: each leaves it serving again."""
    with serving() as up:
        yield up


@pytest.fixture
def own_run():
    """An `up` of the test's own, for the test that makes it give up."""
    with serving() as up:
        yield up


def child(run: Up, command: str) -> psutil.Process | None:
    """The running child of `up` that runs `sandbox <command>` (None between a death and
    its restart); not the API processes the API's own forks."""
    found = [p for p, cmdline in run.children()
             if cmdline.startswith(f"sandbox-{command}:") and alive(p) and p.ppid() == run.proc.pid]
    return found[0] if len(found) == 1 else None


def pid_of(run: Up, command: str) -> int | None:
    proc = child(run, command)
    return proc.pid if proc else None


def postmaster_pid(run: Up) -> int | None:
    try:
        return int((run.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):  # between a death and the restart
        return None


def database_url(run: Up) -> str:
    socket_dir = (run.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[4]
    return f"postgresql://postgres@/sandbox?host={socket_dir}"


def ready(run: Up) -> bool:
    try:
        return run.http.get("/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def post_payout(run: Up, key: str, suffix: str) -> httpx.Response:
    account = f"{int(key[:8], 16) % 10**10:010d}{suffix}"
    return run.http.post("/payouts", headers={"X-Idempotency-Key": key}, json={
        "amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": account}})


def some_payouts(run: Up) -> dict[tuple[str, str], str]:
    """A few payouts in flight (success, retried, failed): (idempotency key, suffix) -> id."""
    ids = {}
    for suffix in ("0001", "0002", "0003") * 2:
        key = secrets.token_hex(12)
        r = post_payout(run, key, suffix)
        assert r.status_code == 201, r.text
        ids[key, suffix] = r.json()["id"]
    return ids


def kill_and_recover(run: Up, name: str, pid: int, replaced) -> None:
    """SIGKILL `pid`; wait for `up` to log it, for `replaced()` and for /ready."""
    said = f"sandbox: {name} "
    lines_before = run.output().count(said)
    os.kill(pid, signal.SIGKILL)
    try:
        wait_until(lambda: run.output().count(said) > lines_before and replaced(), RECOVERY_TIMEOUT,
                   f"`up` to start {name} again")
        assert run.proc.poll() is None, "`up` exited"
        wait_until(lambda: ready(run), RECOVERY_TIMEOUT, f"/ready after {name} came back")
    except AssertionError as missed:  # what `up` said since the kill is what explains it
        raise AssertionError(f"{missed}; `up` said:\n{run.output()[-8000:]}") from None


async def _final_state(run: Up, ids: dict[str, str]) -> tuple[int, list[str], int]:
    from sandbox.ledger.service import check_invariant

    conn = await asyncpg.connect(database_url(run))
    try:
        rows = await conn.fetch("SELECT merchant, count(*) AS n FROM payout WHERE id = ANY($1)"
                                " AND status = ANY($2) AND next_action_at IS NULL GROUP BY merchant",
                                list(ids.values()), list(FINAL))
        merchant = (await conn.fetchval("SELECT merchant FROM payout WHERE id = $1", next(iter(ids.values()))))
        broken = await check_invariant(merchant, conn=conn)
        total = await conn.fetchval("SELECT count(*) FROM payout WHERE merchant = $1", merchant)
        return sum(r["n"] for r in rows), broken, total
    finally:
        await conn.close()


def assert_served_again(run: Up, before: dict[str, str]) -> None:
    """Payouts made before the kill end; each one retried with its key is the same payout;
    new payouts are taken and end; the ledger invariant holds and no payout is extra."""
    for (key, suffix), payout_id in before.items():
        r = post_payout(run, key, suffix)
        assert (r.status_code, r.json()["id"]) == (201, payout_id), r.text
    after = some_payouts(run)
    ids = {**before, **after}
    wait_until(lambda: asyncio.run(_final_state(run, ids))[0] == len(ids), RECOVERY_TIMEOUT,
               "every payout to reach its scenario's end")
    _, broken, total = asyncio.run(_final_state(run, ids))
    assert broken == []
    run.payouts_seen = getattr(run, "payouts_seen", 0) + len(ids)
    assert total == run.payouts_seen, "a payout was duplicated"


def test_worker_killed_is_started_again(run):
    before = some_payouts(run)
    old = pid_of(run, "worker")
    kill_and_recover(run, "worker", old, lambda: pid_of(run, "worker") not in (None, old))
    assert "sandbox: worker was killed by SIGKILL; starting it again" in run.output()
    assert_served_again(run, before)


def test_api_killed_is_started_again(run):
    before = some_payouts(run)
    old = pid_of(run, "api")
    kill_and_recover(run, "api", old, lambda: pid_of(run, "api") not in (None, old))
    assert_served_again(run, before)


def test_redis_killed_is_started_again(run):
    redis = EmbeddedRedis(run.data_dir)
    before = some_payouts(run)
    old = redis.pid()
    kill_and_recover(run, "Redis", old, lambda: redis.pid() not in (None, old))
    assert "sandbox: Redis stopped running; starting it again" in run.output()
    assert_served_again(run, before)


def test_postgres_killed_is_started_again(run):
    before = some_payouts(run)
    old = postmaster_pid(run)
    kill_and_recover(run, "PostgreSQL", old, lambda: postmaster_pid(run) not in (None, old))
    assert "sandbox: PostgreSQL stopped running; starting it again" in run.output()
    assert_served_again(run, before)


def test_a_worker_that_keeps_dying_makes_up_give_up_and_stop_everything(own_run):
    run = own_run
    children = run.children()
    for _ in range(GIVE_UP_AFTER):
        if run.proc.poll() is not None:
            break
        old = wait_until(lambda: pid_of(run, "worker"), RECOVERY_TIMEOUT, "a worker to kill")
        os.kill(old, signal.SIGKILL)
        wait_until(lambda old=old: run.proc.poll() is not None or pid_of(run, "worker") not in (None, old),
                   RECOVERY_TIMEOUT, "the worker to be started again, or `up` to give up")
    assert run.wait_exit() == 1
    assert f"worker died {GIVE_UP_AFTER} times within 60s; stopping everything" in run.output()
    assert [cmdline for c, cmdline in children if alive(c)] == []
    assert servers_in(Path(run.data_dir)) == []
