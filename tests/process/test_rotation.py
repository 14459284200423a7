"""Keys in a shared sandbox, with real processes: `sandbox migrate && sandbox seed` as a
migration Job runs them, and two API processes (`sandbox api`) on one database and one
Redis, as two replicas behind a Service.

- The seed's output names keys by fingerprint only (operators read the Job's log).
- SANDBOX_ADMIN_KEY becomes the only operator key at the next seed: the old one is refused
  by both APIs from the seed's exit on, though both had it in their key cache.
- SANDBOX_DEMO_MERCHANTS=false seeds no demo merchant, and removes those an earlier seed
  made: both APIs refuse their published keys.
- A merchant key (or a team key) rolled with no overlap is refused by both at once; rolled with an overlap,
  both keys work on both until its end, then the old one is refused on both."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from sandbox.guards.fingerprints import fingerprint
from sandbox.settings import LOG_COPY_VARIABLE
from seeds.seed import DEMO_MERCHANTS
from tests.process.conftest import REPO, free_port, wait_until

DEMO_KEY = DEMO_MERCHANTS[0][2]


def new_admin_key() -> str:
    return "sk_admin_" + secrets.token_hex(24)


class Replicas:
    """A database of its own on the suite's PostgreSQL, and the processes run against it."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url, self.redis_url = database_url, redis_url
        self.apis: list[tuple[subprocess.Popen, str]] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update(SANDBOX_DATABASE_URL=self.database_url, SANDBOX_REDIS_URL=self.redis_url, SANDBOX_TIME_SCALE="0",
                   SANDBOX_API_WORKERS="1", SANDBOX_RAIL_SECRET="rail_" + "r" * 40,
                   SANDBOX_SESSION_SECRET="s" * 40, **extra)
        env.setdefault(LOG_COPY_VARIABLE, os.environ.get(LOG_COPY_VARIABLE, ""))
        return env

    def run(self, *argv: str, **extra: str) -> str:
        """A one-off `sandbox` command; everything it wrote, stdout and stderr."""
        done = subprocess.run([sys.executable, "-m", "sandbox.cli", *argv], cwd=REPO, env=self.env(**extra),
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def start_apis(self, count: int = 2) -> list[str]:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "api"], cwd=REPO,
                                    env=self.env(SANDBOX_API_PORT=str(port)), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}/api/v1"
            self.apis.append((proc, base))
        for proc, base in self.apis:
            wait_until(lambda b=base, p=proc: p.poll() is None and _answers(f"{b}/health"), 90, f"{base} to serve")
        # Each listens for key changes (its key cache is on) before the test relies on it.
        wait_until(lambda: self.listeners() >= count, 30, "both APIs to listen for key changes")
        return [base for _, base in self.apis]

    def listeners(self) -> int:
        import asyncio

        async def count() -> int:
            conn = await asyncpg.connect(self.database_url)
            try:
                return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                                           " 'sandbox-auth-listener' AND datname = current_database()")
            finally:
                await conn.close()

        return asyncio.run(count())

    def operator_keys(self) -> int:
        """The operator's keys that work (rows of `api_key`)."""
        import asyncio

        async def count() -> int:
            conn = await asyncpg.connect(self.database_url)
            try:
                return await conn.fetchval("SELECT count(*) FROM api_key WHERE role = 'admin' AND team IS NULL"
                                           " AND (revoked_at IS NULL OR revoked_at > now())")
            finally:
                await conn.close()

        return asyncio.run(count())

    def statuses(self, key: str) -> list[int]:
        """GET /balance (a merchant key) or /admin/payouts (an admin key) on every API."""
        path = "/admin/payouts" if key.startswith("sk_admin_") else "/balance"
        return [httpx.get(base + path, headers={"X-API-KEY": key}, timeout=10).status_code for _, base in self.apis]

    def stop(self) -> None:
        for proc, _ in self.apis:
            proc.terminate()
        for proc, _ in self.apis:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def replicas(stack) -> Iterator[Replicas]:
    import asyncio

    name = f"rotation_{secrets.token_hex(4)}"

    async def database(sql: str) -> None:
        conn = await asyncpg.connect(stack.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(database(f'CREATE DATABASE "{name}"'))
    made = Replicas(urlsplit(stack.database_url)._replace(path="/" + name).geturl(), stack.redis_url)
    try:
        made.run("migrate")
        yield made
    finally:
        made.stop()
        asyncio.run(database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_seed_names_the_admin_key_by_its_fingerprint_only(replicas):
    key = new_admin_key()
    said = replicas.run("seed", SANDBOX_ADMIN_KEY=key)
    assert key not in said and key.removeprefix("sk_admin_") not in said, said
    assert fingerprint(key) in said, said
    for _, _, demo in DEMO_MERCHANTS:
        assert demo not in said, said
    again = replicas.run("seed", SANDBOX_ADMIN_KEY=key)  # every later seed alike
    assert key.removeprefix("sk_admin_") not in again and fingerprint(key) in again, again


def test_a_new_admin_key_is_the_only_operator_key_on_every_replica_from_the_seed_on(replicas):
    old, new = new_admin_key(), new_admin_key()
    replicas.run("seed", SANDBOX_ADMIN_KEY=old)
    replicas.start_apis()
    assert replicas.statuses(old) == [200, 200]
    assert replicas.statuses(old) == [200, 200]  # remembered by each API's key cache now
    said = replicas.run("seed", SANDBOX_ADMIN_KEY=new)
    assert replicas.statuses(old) == [401, 401]  # at once: no wait after the seed's exit
    assert replicas.statuses(new) == [200, 200]
    assert "1 older operator key(s) revoked" in said, said
    assert replicas.operator_keys() == 1


def test_demo_merchants_off_seeds_none_and_removes_those_seeded_before(replicas):
    key = new_admin_key()
    replicas.run("seed", SANDBOX_ADMIN_KEY=key)  # SANDBOX_DEMO_MERCHANTS unset: true
    replicas.start_apis()
    assert replicas.statuses(DEMO_KEY) == [200, 200]
    said = replicas.run("seed", SANDBOX_ADMIN_KEY=key, SANDBOX_DEMO_MERCHANTS="false")
    for _, _, demo in DEMO_MERCHANTS:
        assert replicas.statuses(demo) == [401, 401]
    assert "mch_demo_alpha  removed" in said, said
    listed = httpx.get(replicas.apis[0][1] + "/admin/payouts", headers={"X-API-KEY": key}, timeout=10)
    assert listed.status_code == 200
    again = replicas.run("seed", SANDBOX_ADMIN_KEY=key, SANDBOX_DEMO_MERCHANTS="false")
    assert "removed" not in again and "mch_demo" not in again, again


def test_a_fresh_shared_instance_never_answers_a_demo_key(replicas):
    replicas.run("seed", SANDBOX_ADMIN_KEY=new_admin_key(), SANDBOX_DEMO_MERCHANTS="false")
    replicas.start_apis(1)
    assert replicas.statuses(DEMO_KEY) == [401]


def test_a_rolled_merchant_key_on_two_replicas(replicas):
    import asyncio

    admin = new_admin_key()
    replicas.run("seed", SANDBOX_ADMIN_KEY=admin)
    one, two = replicas.start_apis()

    def post(base: str, path: str, body: dict) -> dict:
        r = httpx.post(base + path, json=body, timeout=30,
                       headers={"X-API-KEY": admin, "X-Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.text
        return r.json()

    made = post(one, "/sandbox/merchants", {"name": "rolled"})
    first, merchant_id = made["api_key"], made["merchant"]["id"]
    assert replicas.statuses(first) == [200, 200]

    # Revoked (no overlap) through one API: the other refuses it from the answer on.
    second = post(one, f"/admin/merchants/{merchant_id}/keys/roll", {"overlap_minutes": 0})["api_key"]
    assert replicas.statuses(first) == [401, 401]
    assert replicas.statuses(second) == [200, 200]

    # Rolled with an overlap through the other API: both keys work on both.
    rolled = post(two, f"/admin/merchants/{merchant_id}/keys/roll", {"overlap_minutes": 30})
    third = rolled["api_key"]
    assert rolled["previous_keys"] == 1
    assert replicas.statuses(second) == [200, 200] and replicas.statuses(third) == [200, 200]

    # The overlap's end brought within reach (a second from now), with no wait of minutes:
    # the change notifies, so each API reads the key again and remembers it with its end...
    async def end_soon() -> None:
        conn = await asyncpg.connect(replicas.database_url)
        try:
            await conn.execute("UPDATE api_key SET revoked_at = now() + interval '2 seconds'"
                               " WHERE merchant = $1 AND revoked_at > now() + interval '1 minute'", merchant_id)
        finally:
            await conn.close()

    asyncio.run(end_soon())
    wait_until(lambda: replicas.statuses(second) == [200, 200], 5, "the old key to work still, remembered anew")
    # ...and refuses it once the end passes, with nothing changed in the database meanwhile.
    wait_until(lambda: replicas.statuses(second) == [401, 401], 10, "the old key to be refused on both")
    assert replicas.statuses(third) == [200, 200]


def test_a_revoked_team_key_on_two_replicas(replicas):
    admin = new_admin_key()
    replicas.run("seed", SANDBOX_ADMIN_KEY=admin)
    one, two = replicas.start_apis()
    headers = {"X-API-KEY": admin, "X-Idempotency-Key": secrets.token_hex(8)}
    team = httpx.post(one + "/admin/teams", json={"name": "rolled"}, headers=headers, timeout=30).json()
    old = team["api_key"]
    assert replicas.statuses(old) == [200, 200] == replicas.statuses(old)  # the second time from each cache
    headers["X-Idempotency-Key"] = secrets.token_hex(8)
    rolled = httpx.post(two + f"/admin/teams/{team['team']['id']}/keys/roll", json={"overlap_minutes": 0},
                        headers=headers, timeout=30)
    assert rolled.status_code == 201, rolled.text
    assert replicas.statuses(old) == [401, 401]
    assert replicas.statuses(rolled.json()["api_key"]) == [200, 200]
    assert replicas.statuses(admin) == [200, 200]  # the operator's key is not a team's


class _Stream:
    """A request-log stream opened with `key` on `base`, read in a thread: each event as
    (when, event, data)."""

    def __init__(self, base: str, key: str) -> None:
        import threading

        self.events: list[tuple[float, str, str]] = []
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(base, key), daemon=True)
        self._thread.start()

    def _read(self, base: str, key: str) -> None:
        import time

        from httpx_sse import connect_sse

        with httpx.Client(timeout=httpx.Timeout(10, read=30)) as client, \
                connect_sse(client, "GET", base + "/sandbox/requests/stream", headers={"X-API-KEY": key}) as source:
            for event in source.iter_sse():
                self.opened.set()
                self.events.append((time.monotonic(), event.event, event.data))
                if event.event == "key_revoked":
                    return

    def ended(self) -> tuple[float, dict] | None:
        import json

        return next(((at, json.loads(data)) for at, event, data in self.events if event == "key_revoked"), None)


def test_a_revoked_key_ends_its_streams_on_every_replica(replicas):
    """Streams opened with a merchant's key on both APIs; the key revoked through one: both
    streams end with `event: key_revoked` within a second of the roll's answer (the figure
    printed is the note's). Then a key rolled with an overlap: its streams last until the
    overlap's end, and end then, `key_expired`, on both."""
    import asyncio
    import time

    admin = new_admin_key()
    replicas.run("seed", SANDBOX_ADMIN_KEY=admin)
    bases = replicas.start_apis()

    def post(path: str, body: dict) -> dict:
        r = httpx.post(bases[0] + path, json=body, timeout=30,
                       headers={"X-API-KEY": admin, "X-Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.text
        return r.json()

    made = post("/sandbox/merchants", {"name": "streams"})
    key, merchant_id = made["api_key"], made["merchant"]["id"]
    streams = [_Stream(base, key) for base in bases]
    for stream in streams:
        assert stream.opened.wait(30), "a stream did not open"
    second = post(f"/admin/merchants/{merchant_id}/keys/roll", {"overlap_minutes": 0})["api_key"]
    answered = time.monotonic()
    wait_until(lambda: all(s.ended() for s in streams), 10, "both streams to end")
    after = [round((s.ended()[0] - answered) * 1000) for s in streams]  # type: ignore[index]
    print(f"revoked: each stream's last event {after} ms after the roll's answer")
    assert all(ms < 1000 for ms in after), after
    assert {s.ended()[1]["code"] for s in streams} == {"key_revoked"}  # type: ignore[index]

    # Rolled with an overlap: both streams of the second key go on, until its end.
    streams = [_Stream(base, second) for base in bases]
    for stream in streams:
        assert stream.opened.wait(30), "a stream did not open"
    post(f"/admin/merchants/{merchant_id}/keys/roll", {"overlap_minutes": 30})
    for base in bases:
        assert httpx.get(base + "/balance", headers={"X-API-KEY": second}, timeout=10).status_code == 200
    ends_in = 2.0

    async def end_soon() -> None:
        conn = await asyncpg.connect(replicas.database_url)
        try:
            await conn.execute(f"UPDATE api_key SET revoked_at = now() + interval '{ends_in} seconds'"
                               " WHERE merchant = $1 AND revoked_at > now() + interval '1 minute'", merchant_id)
        finally:
            await conn.close()

    asyncio.run(end_soon())
    ends = time.monotonic() + ends_in
    wait_until(lambda: all(s.ended() for s in streams), 15, "both streams to end at the overlap's end")
    after = [round((s.ended()[0] - ends) * 1000) for s in streams]  # type: ignore[index]
    print(f"overlap: each stream's last event {after} ms after the overlap's end")
    assert all(-100 < ms < 1000 for ms in after), after
    assert {s.ended()[1]["code"] for s in streams} == {"key_expired"}  # type: ignore[index]
