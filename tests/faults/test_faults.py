"""Faults with real processes: `sandbox api`, `sandbox worker` and `sandbox ipn` as
subprocesses on their own embedded PostgreSQL and Redis (time scale 0).

- the API killed with SIGKILL during a burst of POST /payouts, then every request
  retried with its idempotency key: one payout per key, whatever the first try saw;
- PostgreSQL stopped under load ("fast", and "immediate" like a crash) and started again;
- PostgreSQL's postmaster killed with SIGKILL under load: nothing committed before the
  kill is gone after the start (payouts, ledger entries, events);
- Redis stopped under load (cleanly, and killed with its data lost) and started again;
- Redis frozen (SIGSTOP) under load, then thawed;
- finally every process must still stop cleanly on SIGTERM.

During an outage `/ready` names the server that is down, and every request answers
within seconds with 201 or 503 problem+json (never a 500, never a hang). Afterwards
the same processes — none restarted — take new payouts, finish the ones in flight
(including payouts waiting for the bank across the outage), deliver the webhooks, every
request retried with its key is exactly one payout, and the ledger invariant holds.

One stack serves the module (its start is most of the run time): each test has its own
merchant and leaves the servers up for the next."""

from __future__ import annotations

import asyncio
import http.server
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import wait_for
from tests.process.services import Services, running_services, wait_all_final

RECOVERED_S = 20.0  # every payout final, after PostgreSQL or Redis is back

PROBLEM_JSON = "application/problem+json"
# A request slower than this during an outage counts as a hang: the server must give up
# on a dead backend in seconds, not leave the client waiting.
REQUEST_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def services():
    # A small database pool: a connection that a fault leaks for good (checked out and never
    # given back) soon leaves requests waiting forever, and the tests see the hang.
    with running_services(workers=1, SANDBOX_DB_POOL_MIN="1", SANDBOX_DB_POOL_MAX="4") as s:
        yield s


def payout_body(suffix: str = "0001") -> dict:
    account = f"{secrets.randbelow(10**10):010d}{suffix}"
    return {"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL", "account_number": account}}


@dataclass
class Outcome:
    key: str
    started: float
    ended: float
    status: int | None = None  # None: no HTTP answer (connection refused or reset, timeout)
    content_type: str = ""
    code: str | None = None
    payout_id: str | None = None
    error: str | None = None


class Load:
    """POST /payouts from a few concurrent loops, each request with its own key, every
    outcome recorded with when it started and ended."""

    def __init__(self, api: httpx.AsyncClient, suffix: str = "0001", loops: int = 3) -> None:
        self.api, self.suffix, self.loops = api, suffix, loops
        self.bodies: dict[str, dict] = {}
        self.outcomes: list[Outcome] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self.loops)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await self.send()
            # Pace the loops: what matters is requests in flight when the fault hits, and a
            # few hundred refused requests per second would only make the replay slow.
            await asyncio.sleep(0.01)

    async def send(self, key: str | None = None) -> Outcome:
        key = key or secrets.token_hex(12)
        body = self.bodies.setdefault(key, payout_body(self.suffix))
        out = Outcome(key, time.monotonic(), 0.0)
        try:
            r = await self.api.post("/payouts", json=body, headers={"X-Idempotency-Key": key},
                                    timeout=REQUEST_TIMEOUT_S)
        except httpx.TimeoutException as exc:
            out.error = f"timeout: {exc!r}"
        except httpx.TransportError as exc:
            out.error = f"transport: {exc!r}"
        else:
            out.status, out.content_type = r.status_code, r.headers.get("content-type", "")
            try:
                data = r.json()
            except ValueError:  # not JSON at all (a bare "Internal Server Error"): the checks say so
                data = {"code": None, "text": r.text[:200]}
            out.code = data.get("code")
            out.payout_id = data.get("id") if r.status_code == 201 else None
        out.ended = time.monotonic()
        self.outcomes.append(out)
        return out

    def since(self, t: float) -> list[Outcome]:
        return [o for o in self.outcomes if o.started >= t]

    def created_since(self, t: float) -> int:
        return sum(1 for o in self.since(t) if o.status == 201)


def assert_201_or_503(outcomes: list[Outcome]) -> None:
    """Every answer is a created payout or a 503 `unavailable` problem — no 500, no
    other error, no request left hanging or cut off."""
    bad = [o for o in outcomes if not (
        o.status == 201 or (o.status == 503 and o.content_type.startswith(PROBLEM_JSON) and o.code == "unavailable"))]
    assert not bad, f"{len(bad)} of {len(outcomes)} requests answered otherwise, e.g. {bad[:3]}"


async def ready(services: Services) -> tuple[int, dict]:
    async with httpx.AsyncClient(verify=tls(), timeout=REQUEST_TIMEOUT_S) as c:
        r = await c.get(f"{services.base}/ready")
        return r.status_code, r.json()


async def replay_all(load: Load) -> dict[str, str]:
    """Send every request again with its key (twice); each must now be one payout."""
    ids: dict[str, str] = {}
    sem = asyncio.Semaphore(8)

    async def one(key: str) -> None:
        async with sem:
            first, again = await load.send(key), await load.send(key)
            assert first.status == 201 and again.status == 201, (first, again)
            assert first.payout_id == again.payout_id, (first, again)
            ids[key] = first.payout_id

    await asyncio.gather(*[one(k) for k in list(load.bodies)])
    for o in load.outcomes:  # a 201 seen before (or during) the fault names the same payout
        if o.status == 201:
            assert o.payout_id == ids[o.key], o
    return ids


async def assert_one_payout_per_key(services: Services, merchant_id: str, ids: dict[str, str]) -> None:
    rows = await services.sql("SELECT id FROM payout WHERE merchant = $1", merchant_id)
    assert sorted(r["id"] for r in rows) == sorted(set(ids.values()))
    assert len(set(ids.values())) == len(ids), "two keys share a payout"


def assert_same_processes(services: Services, before: dict[str, int]) -> None:
    now = {name: p.pid for name, p in services.procs.items() if p.poll() is None}
    assert now == before, f"processes died or were replaced: before {before}, now {now}"


def running(services: Services) -> dict[str, int]:
    return {name: p.pid for name, p in services.procs.items() if p.poll() is None}


async def test_api_killed_during_a_burst_then_every_key_converges(services):
    api, merchant_id = await services.new_merchant()
    async with api:
        load = Load(api)
        keys = [secrets.token_hex(12) for _ in range(150)]
        sem = asyncio.Semaphore(16)

        async def one(key: str) -> None:
            async with sem:
                await load.send(key)

        burst = asyncio.gather(*[one(k) for k in keys])
        await wait_for(lambda: asyncio.sleep(0, load.created_since(0) >= 30), 60, what="30 payouts created")
        await asyncio.to_thread(services.kill, "api", signal.SIGKILL)
        try:
            await burst
            cut = [o for o in load.outcomes if o.status is None]
            assert cut, "the kill hit no request: the burst finished first"
            assert all(o.status in (201, None) for o in load.outcomes), \
                [o for o in load.outcomes if o.status != 201][:3]
        finally:  # serving again however the checks above end: the module's other tests use it
            await asyncio.to_thread(services.restart_api)
        ids = await replay_all(load)
        assert len(ids) == len(keys)
        await assert_one_payout_per_key(services, merchant_id, ids)
        await wait_all_final(services, merchant_id, len(keys), 60)
        assert await services.invariant(merchant_id) == []


async def ready_when(services: Services, accept) -> tuple[int, dict] | None:
    try:
        status, body = await ready(services)
    except httpx.TimeoutException:
        raise AssertionError("/ready hung") from None
    return (status, body) if accept(status, body) else None


async def finish_waiting(services: Services, api: httpx.AsyncClient, waiting: Load) -> None:
    """The rail decides the payouts that waited through the outage: success, through the
    IPN process and the worker."""
    ids = sorted({o.payout_id for o in waiting.outcomes if o.payout_id})

    async def all_at_the_bank() -> bool:
        # A payout reaches the rail through the worker: after Redis lost its data, the
        # sweeper queues it again within a round, so the bank may not have it yet.
        rows = await services.sql(
            "SELECT count(*) AS n FROM payout WHERE id = ANY($1) AND psp_reference IS NOT NULL", ids)
        return rows[0]["n"] == len(ids)

    await wait_for(all_at_the_bank, RECOVERED_S, what="the waiting payouts to reach the bank")
    for payout_id in ids:
        r = await api.post(f"/sandbox/payouts/{payout_id}/simulate", json={"status": "success"},
                           headers={"X-Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 202, r.text

    async def all_success() -> bool:
        rows = await services.sql("SELECT count(*) AS n FROM payout WHERE id = ANY($1) AND status = 'success'", ids)
        return rows[0]["n"] == len(ids)

    await wait_for(all_success, 30, what="the waiting payouts to succeed")


async def outage(services: Services, receiver: Receiver, api: httpx.AsyncClient, merchant_id: str, load: Load,
                 server: str, stop: Callable[[], None], start: Callable[[], None], worker_notices: str | None = None,
                 min_during: int = 20) -> list[Outcome]:
    """Run `load`, stop `server` ("postgres" or "redis") and start it again, with payouts
    waiting for the bank across the outage and a webhook endpoint; then check that the
    same processes recovered everything. Returns the outcomes of the requests sent while
    the server was down."""
    before = running(services)
    r = await api.post("/webhook-endpoints", json={"url": receiver.url, "events": ["payout.*"]},
                       headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text
    other = {"postgres": "redis", "redis": "postgres"}[server]
    waiting = Load(api, suffix="0004")  # …0004 waits for the bank: in flight for the whole outage
    for _ in range(3):
        assert (await waiting.send()).status == 201
    load.start()
    await wait_for(lambda: asyncio.sleep(0, load.created_since(0) >= 20), 30, what="payouts before the outage")

    # The worker's log holds the whole module's lines: a notice counts if it is new.
    notices_before = services.log("worker0").count(worker_notices) if worker_notices else 0
    await asyncio.to_thread(stop)
    down_at = time.monotonic()
    try:
        _, body = await wait_for(lambda: ready_when(services, lambda s, b: s == 503), 60, what="/ready to say 503")
        assert body[server].startswith("down") and body[other] == "ok", body
        await wait_for(lambda: asyncio.sleep(0, len(load.since(down_at)) >= min_during), 30,
                       what="requests during the outage")
        if worker_notices:  # the worker met the outage (and, checked below, lived through it)
            await wait_for(lambda: asyncio.sleep(0, services.log("worker0").count(worker_notices) > notices_before),
                           60, what=f"the worker to log {worker_notices!r}")
        during = load.since(down_at)
    finally:  # started again however the checks above end: the module's other tests use it
        await asyncio.to_thread(start)
    up_at = time.monotonic()
    await wait_for(lambda: ready_when(services, lambda s, b: s == 200), 30, what="/ready to say 200 again")
    await wait_for(lambda: asyncio.sleep(0, load.created_since(up_at) >= 20), 30, what="payouts after the outage")
    recovered_at = time.monotonic()
    await load.stop()
    assert_201_or_503(load.outcomes)
    assert_same_processes(services, before)

    # Every request sent again with its key: the ones that got 503 go through now, the
    # others answer their payout again; one payout per key in the database.
    ids = {**await replay_all(load), **await replay_all(waiting)}
    await assert_one_payout_per_key(services, merchant_id, ids)
    await finish_waiting(services, api, waiting)
    # Within a few of the sweeper's 5 s rounds: the worker resumes by itself. (60 s here
    # once hid a worker that held every payout it had claimed at the restart back for a
    # minute; they were final 60 s after every restart.)
    finished_at = await wait_all_final(services, merchant_id, len(ids), RECOVERED_S)
    print(f"\n{server} down {up_at - down_at:.1f}s; {len(during)} requests meanwhile; new payouts 20 created"
          f" {recovered_at - up_at:.1f}s after restart; all {len(ids)} payouts final"
          f" {finished_at - up_at:.1f}s after restart")
    assert await services.invariant(merchant_id) == []

    missing: list[str] = []

    async def all_delivered() -> bool:
        rows = await services.sql("SELECT id FROM outbox_event WHERE merchant = $1", merchant_id)
        missing[:] = sorted({r["id"] for r in rows} - receiver.received)
        return bool(rows) and not missing

    # Events written before, during and after the outage all reach the endpoint.
    try:
        await wait_for(all_delivered, 60, what="every payout event delivered to the endpoint")
    except AssertionError as late:  # what became of the events still missing, read at the deadline
        rows = await services.sql(
            "SELECT ev.id, EXISTS (SELECT 1 FROM outbox_unrelayed u"
            " WHERE (u.created_at, u.number) = (ev.created_at, ev.number)) AS unrelayed, d.status, d.attempts,"
            " d.last_error, d.next_attempt_at, d.lease_until, d.parked, now() AS at FROM outbox_event ev"
            " LEFT JOIN webhook_delivery d ON d.event = ev.id WHERE ev.id = ANY($1::varchar[])"
            " ORDER BY ev.id LIMIT 10", missing)
        raise AssertionError(f"{late} ({len(missing)} not received {time.monotonic() - up_at:.1f}s after the"
                             f" restart, e.g. {[dict(r) for r in rows]})") from None
    assert_same_processes(services, before)
    return during


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restarted_under_load(services, receiver, mode):
    """"fast": clients are told and disconnected; "immediate": every server process quits
    at once, like a crash, and the restart replays the WAL."""
    api, merchant_id = await services.new_merchant()
    async with api:
        during = await outage(services, receiver, api, merchant_id, Load(api), "postgres",
                              lambda: services.stop_postgres(mode), services.start_postgres)
        # Without PostgreSQL nothing can be created: every request in the outage is a 503.
        assert during and all(o.status == 503 for o in during), [o for o in during if o.status != 503][:3]


# What a merchant has written that a crash must not take back once committed: its payouts,
# their ledger entries and their events (every column that names the row).
DURABLE = {"payout": "SELECT id FROM payout WHERE merchant = $1",
           "ledger_entry": "SELECT id::text FROM ledger_entry WHERE merchant = $1",
           "outbox_event": "SELECT id FROM outbox_event WHERE merchant = $1"}


async def committed(services: Services, merchant_id: str) -> dict[str, set[str]]:
    return {table: {r[0] for r in await services.sql(query, merchant_id)} for table, query in DURABLE.items()}


async def test_postgres_killed_with_sigkill_under_load_loses_nothing_committed(services, receiver):
    """kill -9 of the postmaster while payouts are made and stepped and their webhooks
    delivered: a crash, no shutdown at all, and a start on the same data dir that replays
    the WAL. What was committed just before the kill is all there after the start, before
    any request is retried: every payout, ledger entry and event; each payout the API had
    answered 201 is one of them. Then the outage's checks: 503s meanwhile, the same
    processes recover, every key one payout, every event delivered, the ledger whole."""
    api, merchant_id = await services.new_merchant()
    async with api:
        load = Load(api)
        seen: dict[str, object] = {}

        def kill() -> None:
            # Read first, kill next: whatever the read saw was committed before the kill.
            seen["answered"] = {o.payout_id for o in list(load.outcomes) if o.status == 201}
            seen["committed"] = asyncio.run(committed(services, merchant_id))
            services.kill_postgres()

        def start() -> None:
            services.restart_postgres()
            seen["after"] = asyncio.run(committed(services, merchant_id))

        during = await outage(services, receiver, api, merchant_id, load, "postgres", kill, start)
        assert during and all(o.status == 503 for o in during), [o for o in during if o.status != 503][:3]
        before, after = seen["committed"], seen["after"]
        assert isinstance(before, dict) and isinstance(after, dict)
        for table in DURABLE:
            lost = before[table] - after[table]
            assert not lost, f"{len(lost)} {table} rows committed before the kill are gone after it: {sorted(lost)[:5]}"
        assert before["payout"] and before["ledger_entry"] and before["outbox_event"], before
        assert seen["answered"] and seen["answered"] <= after["payout"], seen["answered"] - after["payout"]


class Receiver:
    """A merchant's webhook endpoint: a real local HTTP server recording event ids."""

    def __init__(self) -> None:
        received: set[str] = set()
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("content-length", 0)))
                received.add(self.headers["webhook-id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.mark.parametrize("lose_data", [False, True], ids=["snapshot-kept", "data-lost"])
async def test_redis_restarted_under_load(services, receiver, lose_data):
    """Stopped cleanly (its snapshot keeps the queue), or killed and back empty: then only
    the sweepers, reading PostgreSQL, know what was queued."""
    api, merchant_id = await services.new_merchant()
    async with api:
        # …0002 retries once: more steps per payout, so more of them are queued (or being
        # enqueued by the worker) when Redis goes; the sweeper must find those.
        await outage(services, receiver, api, merchant_id, Load(api, suffix="0002"), "redis",
                     lambda: services.stop_redis(lose_data), services.start_redis,
                     worker_notices="Redis is unreachable")


async def test_redis_frozen_under_load(services, receiver):
    """Redis stopped with SIGSTOP: connections open, nothing answers. Requests must give
    up on it within seconds (503), not wait for it."""
    api, merchant_id = await services.new_merchant()
    async with api:
        try:
            # Each request now takes the Redis deadline (3 s) to fail: a few are enough.
            await outage(services, receiver, api, merchant_id, Load(api), "redis",
                         lambda: services.freeze_redis(True), lambda: services.freeze_redis(False), min_during=3)
        finally:
            services.freeze_redis(False)


async def test_postmaster_frozen_new_connections_give_up(services):
    """Every session closed, then the postmaster frozen: the API must open new
    connections, and each attempt has to give up within seconds (503), not wait the
    60 s asyncpg allows by default."""
    api, merchant_id = await services.new_merchant()
    async with api:
        load = Load(api)
        # The postmaster is frozen first and the sessions ended after: the other way round, a
        # pool that lost its connection opened a new one at once (asyncpg keeps its minimum),
        # and on a busy machine it was open before the freeze (seen: both requests 201).
        admin = await asyncpg.connect(services.database_url)
        services.freeze_postmaster(True)
        try:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
            # Each session leaves pg_stat_activity as it exits (no postmaster needed for that).
            await wait_for(lambda: admin.fetchval("SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type"
                                                  " = 'client backend' AND pid <> pg_backend_pid()"),
                           10, what="the terminated sessions to end")
            outcomes = await asyncio.gather(load.send(), load.send())
        finally:
            services.freeze_postmaster(False)
            await admin.close()
        assert_201_or_503(list(outcomes))
        assert any(o.status == 503 for o in outcomes), outcomes
        ids = await replay_all(load)
        await assert_one_payout_per_key(services, merchant_id, ids)
        assert await services.invariant(merchant_id) == []


async def test_postgres_frozen_whole_answers_503_in_time_then_recovers(services):
    """Every PostgreSQL process stopped (SIGSTOP), sessions open: requests and /ready must
    answer 503 within their client-side deadlines, not wait for the thaw; afterwards the
    same processes serve again (connections cut by a deadline are replaced)."""
    api, merchant_id = await services.new_merchant()
    before = running(services)
    async with api:
        load = Load(api)
        assert (await load.send()).status == 201
        services.freeze_postgres(True)
        try:
            started = time.monotonic()
            one = api.get("/balance", timeout=REQUEST_TIMEOUT_S)
            during, plain = await asyncio.gather(asyncio.gather(*(load.send() for _ in range(5))), one)
            took = time.monotonic() - started
            ready_started = time.monotonic()
            status, body = await ready(services)
            ready_took = time.monotonic() - ready_started
        finally:
            services.freeze_postgres(False)
        print(f"frozen: {len(during) + 1} requests answered in {took:.1f}s; /ready in {ready_took:.1f}s")
        assert [o.status for o in during] == [503] * len(during), during
        assert_201_or_503(during)
        assert plain.status_code == 503 and plain.headers["retry-after"] == "5", (plain.status_code, plain.headers)
        assert plain.json()["code"] == "unavailable"
        assert status == 503 and body["postgres"].startswith("down") and body["redis"] == "ok", body
        assert ready_took < 3.0, f"/ready took {ready_took:.1f}s"
        await wait_for(lambda: ready_when(services, lambda s, _: s == 200), 30, what="/ready 200 after the thaw")
        for _ in range(3):  # every pooled connection, not only one, serves again
            assert (await load.send()).status == 201
        ids = await replay_all(load)
        await assert_one_payout_per_key(services, merchant_id, ids)
        await wait_all_final(services, merchant_id, len(ids), 60)
        assert await services.invariant(merchant_id) == []
    assert_same_processes(services, before)


def test_outcomes_checker_can_fail():
    """The outage checks reject a 500 and a cut-off request."""
    ok = Outcome("a", 0, 0, 201)
    with pytest.raises(AssertionError):
        assert_201_or_503([ok, Outcome("b", 0, 0, 500, PROBLEM_JSON, "internal_error")])
    with pytest.raises(AssertionError):
        assert_201_or_503([ok, Outcome("c", 0, 0, None, error="timeout")])
    assert_201_or_503([ok, Outcome("d", 0, 0, 503, PROBLEM_JSON, "unavailable")])


def test_every_process_stops_cleanly_after_the_faults(services):
    """SIGTERM after the faults that ran before it (in file order, all of the above): each
    process exits within seconds. A pool connection leaked by a fault makes the pool's
    close() wait for it forever (seen: the API and the IPN hanging in "Waiting for
    application shutdown"); it is now terminated after a deadline and named in the log
    (sandbox/db.py, sandbox/runtime/shutdown.py), which this test reads. The processes are
    started again afterwards, for the tests that run after it in another order."""
    stopping = {name: services.procs.pop(name) for name in list(services.procs)}
    for proc in stopping.values():
        proc.send_signal(signal.SIGTERM)
    hung = []
    try:
        for name, proc in stopping.items():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                hung.append(name)
                proc.kill()
                proc.wait()
    finally:
        services.start_all(workers=sum(name.startswith("worker") for name in stopping))
    assert not hung, f"{hung} did not stop within 15 s of SIGTERM; the tail of the first log:\n" + \
        services.log(hung[0])[-3000:]
    # A step that overran its deadline (a leaked pool connection, a flush that never
    # returned) no longer hangs the process; its log line names it, and it is still a fault.
    overran = [line for name in stopping for line in services.log(name).splitlines()
               if "did not finish within" in line or "database pool: connections still in use" in line]
    assert not overran, "\n".join(overran)
