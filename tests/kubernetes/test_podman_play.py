"""The podman overlay played with `podman kube play` on this machine: two API processes (each
its own Deployment: one host network), two workers and the IPN, on this machine's PostgreSQL
and Redis. The scale-out checks run against it:

- one idempotency key sent to both APIs at once gives one payout;
- payouts that together overdraw, spread over both APIs, are refused exactly;
- the ledger holds for every merchant;
- an API replica and a worker killed (SIGKILL from the host: Podman's restart policy replays
  them, as a kubelet would) under load lose no payout and no event (every event is delivered
  to the merchant's webhook receiver, verified), and no answer is a 5xx beyond the requests
  in flight when they died.

Needs podman, kubectl, this machine's PostgreSQL (127.0.0.1:5432, trust) and Redis, and the
image in MYPAY_SANDBOX_IMAGE: .ci/kubernetes builds it (.ci/container) and runs this module."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import asyncpg
import httpx
import pytest

from sandbox.testing.client import MypaySandbox
from sandbox.testing.receiver import WebhookReceiver
from seeds.seed import DEMO_MERCHANTS
from tests.helpers import payout_body, wait_for
from tests.kubernetes.podman_play import RECEIVERS, PlayedSandbox, podman
from tests.kubernetes.rendered import KUBERNETES, REPO, of_kind, pod, render

pytestmark = [
    pytest.mark.skipif(shutil.which("podman") is None or shutil.which("kubectl") is None,
                       reason="podman and kubectl are needed to play the podman overlay"),
    pytest.mark.skipif(not os.environ.get("MYPAY_SANDBOX_IMAGE"),
                       reason="MYPAY_SANDBOX_IMAGE names no image to play; .ci/kubernetes builds and names one"),
]

CLIENTS = 12  # requests in flight at once under load
LOAD_S = 4.0  # of load before the kill, and again once the killed replica serves
FINAL_WITHIN_S = 120.0
# The keys the README publishes (the demo merchants'): a shared sandbox seeds none.
DEMO_KEYS = tuple(key for _, _, key in DEMO_MERCHANTS)


@pytest.fixture(scope="module")
def played():
    box = PlayedSandbox(os.environ["MYPAY_SANDBOX_IMAGE"])
    try:
        started = time.monotonic()
        box.play()
        print(f"\n{box.image}: both APIs ready {box.wait_ready():.1f}s after `podman kube play` "
              f"({time.monotonic() - started:.1f}s with rendering and the play)")
        yield box
    finally:
        box.down()


@pytest.fixture(scope="module")
def sandbox(played):
    box = MypaySandbox(played.urls[0], played.admin_key, webhook_host=RECEIVERS)
    yield box
    box.admin.close()


def clients(played, key: str) -> list[httpx.AsyncClient]:
    return [httpx.AsyncClient(base_url=url, headers={"X-API-KEY": key}, timeout=30) for url in played.urls]


async def verified(client: httpx.AsyncClient) -> dict:
    check = (await client.get("/balance/verify")).json()
    assert check["ok"] is True, check
    return check


def test_two_api_replicas_two_workers_and_the_ipn_run(played):
    """Both APIs ready, and ready by the path a cluster's readiness probe asks (the other
    overlays' API probe: Podman runs none, so it is asked here)."""
    assert [len(played.containers(d)) for d in ("api", "api-2", "worker", "ipn")] == [1, 1, 2, 1]
    api = of_kind(render(KUBERNETES / "overlays" / "external"), "Deployment")["mypay-sandbox-api"]
    probe = pod(api)["containers"][0]["readinessProbe"]["httpGet"]["path"]
    for url in played.urls:
        ready = httpx.get(f"{url}/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        by_probe = httpx.get(url.removesuffix("/api/v1") + probe, timeout=5)
        assert by_probe.status_code == 200, f"{probe}: {by_probe.status_code} {by_probe.text}"


def test_each_pod_writes_to_a_data_of_its_own(played):
    """Podman 4.3 would have made one named volume of each emptyDir and shared it between all
    five pods (the two workers writing one liveness file): each container has /data, the
    image's anonymous volume, to itself, its temporary files and liveness file in it."""
    names = [c for d in ("api", "api-2", "worker", "ipn") for c in played.containers(d)]
    mounts = {c: json.loads(podman("inspect", "--format", "{{json .Mounts}}", c).stdout) for c in names}
    data = {c: [m["Name"] for m in ms if m["Destination"] == "/data"] for c, ms in mounts.items()}
    assert all(len(v) == 1 for v in data.values()), data
    assert len({v[0] for v in data.values()}) == len(names), f"a /data shared between pods: {data}"
    assert not any(m["Destination"] == "/tmp" for ms in mounts.values() for m in ms)
    for worker in played.containers("worker"):  # each worker's poll loop writes its own file
        alive = podman("exec", worker, "test", "-f", "/data/tmp/worker-alive", check=False)
        assert alive.returncode == 0, f"{worker}: no /data/tmp/worker-alive ({alive.stderr})"


async def test_one_idempotency_key_over_both_apis_gives_one_payout(played, sandbox):
    merchant = sandbox.new_merchant(made_by="kube idempotency")
    a, b = clients(played, merchant.key)
    try:
        keys = [f"both-{uuid.uuid4().hex}" for _ in range(20)]

        async def both(key: str) -> set[str]:
            body = payout_body(amount="10.00")
            first = await asyncio.gather(*(c.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
                                           for c in (a, b)))
            assert {r.status_code for r in first} <= {201, 409}, [r.text for r in first]
            # 409 idempotency_key_in_use: the other API holds it; asked again, the stored answer.
            ids = set()
            for client, answer in zip((a, b), first, strict=True):
                while answer.status_code == 409:
                    await asyncio.sleep(0.05)
                    answer = await client.post("/payouts", json=body, headers={"X-Idempotency-Key": key})
                assert answer.status_code == 201, answer.text
                ids.add(answer.json()["id"])
            return ids

        ids = await asyncio.gather(*(both(k) for k in keys))
        assert all(len(one) == 1 for one in ids), ids
        listed = (await a.get("/payouts", params={"limit": 100})).json()["data"]
        assert sorted(p["id"] for p in listed) == sorted(one.pop() for one in ids)
        await verified(b)
    finally:
        await a.aclose()
        await b.aclose()


async def test_concurrent_overdraws_over_both_apis_are_exact(played, sandbox):
    merchant = sandbox.new_merchant(opening_balance="10000.00", made_by="kube overdraw")
    a, b = clients(played, merchant.key)
    try:
        # 40 requests of 1,000.00 against 10,000.00, half to each API: exactly 10 fit.
        answers = await asyncio.gather(*(
            (a, b)[i % 2].post("/payouts", json=payout_body(amount="1000.00"),
                               headers={"X-Idempotency-Key": uuid.uuid4().hex}) for i in range(40)))
        codes = sorted(r.status_code for r in answers)
        assert (codes.count(201), codes.count(422)) == (10, 30), codes
        assert all(r.json()["code"] == "insufficient_funds" for r in answers if r.status_code == 422)
        balance = (await b.get("/balance")).json()
        assert balance["available"] == "0.00"
        assert await verified(a)
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_replica_and_a_worker_killed_under_load_lose_nothing(played, sandbox):
    merchant = sandbox.new_merchant(opening_balance="10000000.00", made_by="kube kill")
    receiver = WebhookReceiver(merchant)
    apis = clients(played, merchant.key)
    made: dict[str, str] = {}  # idempotency key -> payout id
    failures: list[tuple[int, str]] = []  # (client, what) for each 5xx or transport error
    stop = asyncio.Event()

    async def client_loop(n: int) -> None:
        turn = n
        while not stop.is_set():
            key = f"load-{n}-{uuid.uuid4().hex}"
            deadline = time.monotonic() + FINAL_WITHIN_S
            while True:  # a correct client: the same key again, on the other API, until answered
                api = apis[turn % 2]
                turn += 1
                try:
                    answer = await api.post("/payouts", json=payout_body(amount="1.00"),
                                            headers={"X-Idempotency-Key": key})
                except httpx.TransportError as exc:
                    failures.append((n, f"{api.base_url}: {type(exc).__name__}"))
                else:
                    if answer.status_code == 201:
                        made[key] = answer.json()["id"]
                        break
                    if answer.status_code >= 500:
                        failures.append((n, f"{api.base_url}: {answer.status_code} {answer.text[:200]}"))
                    elif answer.status_code != 409:
                        raise AssertionError(f"{answer.status_code} {answer.text}")
                assert time.monotonic() < deadline, f"{key} never answered 201"
                await asyncio.sleep(0.05)

    try:
        load = [asyncio.create_task(client_loop(n)) for n in range(CLIENTS)]
        await asyncio.sleep(LOAD_S)
        killed = [played.containers("api")[0], played.containers("worker")[0]]
        before = len(made)
        for name in killed:  # the container's PID 1 dies: Podman restarts it, as a kubelet would
            pid = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        async def serves_again() -> bool:  # the killed API migrates, seeds and starts anew
            try:
                return (await apis[0].get("/ready", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(serves_again, timeout=FINAL_WITHIN_S, interval=0.5, what="the killed API to serve again")
        replayed_after = time.monotonic() - killed_at
        await asyncio.sleep(LOAD_S)
        stop.set()
        await asyncio.gather(*load)
        server_errors = [f for f in failures if "Error" not in f[1]]
        print(f"\n{len(made)} payouts ({before} before the kill); killed {killed}; the API served again "
              f"{replayed_after:.1f}s later; {len(failures)} attempts failed ({len(server_errors)} of them 5xx, "
              "the rest refused connections), each retried with its key on the other API")
        assert len(server_errors) <= CLIENTS, server_errors  # at most the requests in flight
        assert len(set(made.values())) == len(made), "two keys answered with one payout"

        conn = await asyncpg.connect(played.database_url)
        try:
            async def all_succeeded() -> bool:
                return not await conn.fetchval(
                    "SELECT count(*) FROM payout WHERE merchant = $1 AND status <> 'success'", merchant.id)

            await wait_for(all_succeeded, timeout=FINAL_WITHIN_S, interval=0.5, what="every payout to succeed")
            stored = {r["id"] for r in await conn.fetch("SELECT id FROM payout WHERE merchant = $1", merchant.id)}
            assert stored == set(made.values()), "a payout was lost, or made twice"
            events = await conn.fetch("SELECT id, type, payout_id FROM outbox_event WHERE merchant = $1",
                                      merchant.id)
        finally:
            await conn.close()
        types_by_payout: dict[str, set[str]] = {}
        for e in events:
            types_by_payout.setdefault(e["payout_id"], set()).add(e["type"])
        assert all({"payout.created", "payout.success"} <= types_by_payout.get(p, set()) for p in stored)

        wanted = {e["id"] for e in events}

        async def all_delivered() -> bool:
            return wanted <= {e["id"] for e in list(receiver.events)}

        await wait_for(all_delivered, timeout=FINAL_WITHIN_S, interval=0.5,
                       what=f"the receiver to have all {len(wanted)} events")
        assert not receiver.rejected, receiver.rejected
        await verified(apis[1])
    finally:
        stop.set()
        receiver.close()
        for api in apis:
            await api.aclose()


def test_a_merchant_key_reaches_nothing_inside_the_network(played):
    """The played overlay as someone holding only a merchant key would probe it. The README's
    demo keys open nothing (no demo merchant is seeded); with a team's merchant key every target
    of the SSRF battery (.ci/ssrf-battery: the sandbox's own API and IPN on loopback, private,
    CGNAT, link-local and metadata addresses, `localhost`, a redirect to loopback from a
    receiver the run allows) is refused in words, and both APIs still serve."""
    for url in played.urls:
        for key in DEMO_KEYS:
            answer = httpx.get(f"{url}/balance", headers={"X-API-KEY": key}, timeout=10)
            assert answer.status_code == 401, f"{url} with the demo key {key[:16]}…: {answer.status_code} {answer.text}"

    operator = MypaySandbox(played.urls[0], played.admin_key)
    try:
        made = operator.admin.post("/admin/teams", json={"name": f"ssrf {uuid.uuid4().hex[:8]}"},
                                   headers={"X-Idempotency-Key": uuid.uuid4().hex})
        assert made.status_code == 201, made.text
    finally:
        operator.admin.close()
    team = MypaySandbox(played.urls[1], made.json()["api_key"])  # the team's key, on the other API
    try:
        merchant = team.new_merchant(opening_balance="1000.00", made_by="kube ssrf battery")
    finally:
        team.admin.close()

    battery = subprocess.run(
        ["bash", str(REPO / ".ci" / "ssrf-battery"), played.urls[0], merchant.key, "--ipn-port", str(played.ipn_port),
         "--redirect-host", RECEIVERS, "--deadline", "60"],
        capture_output=True, text=True, timeout=600)
    print(f"\n{battery.stdout}{battery.stderr[-2000:]}")
    assert battery.returncode == 0, "a webhook target inside the network was called, or the battery failed (above)"
    assert "FAIL" not in battery.stdout
    for url in played.urls:
        ready = httpx.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
