"""A stop that waits for nobody: `sandbox api` told to stop (SIGTERM) with event streams
open ends every one at once with `event: going_away` and exits 0 within 2 s, and the
clients (`sandbox listen`, `sandbox logs tail`, run as their commands) reconnect and resume
where they were, losing nothing, even a tail that had printed nothing yet.

Real processes on their own servers (tests/process/services.py): the API the clients use
(stopped and started again), a second API beside it (another replica: what is asked
while the first is down), the IPN and a worker. Before, uvicorn waited for every stream
to end by itself: the stop never came."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from sandbox.client.blocking import tls
from sandbox.health.going_away import EVENT, RETRY_MS
from tests.process.conftest import free_port, wait_until
from tests.process.services import Services, create_payouts
from tests.webhooks.receiver import Receiver

SANDBOX = str(Path(sys.executable).with_name("sandbox"))  # the console script the package installs
STOP_WITHIN_S = 2.0
STREAMS = 5


@pytest.fixture(scope="module")
def svc():
    services = Services()
    services.env["SANDBOX_API_WORKERS"] = "1"
    services.env["SANDBOX_LOG_FORMAT"] = "text"
    services.replica_port = free_port()  # pyright: ignore[reportAttributeAccessIssue]
    try:
        services.start("ipn", "ipn")
        services.start("worker0", "worker")
        services.start("replica", "api", SANDBOX_API_PORT=str(services.replica_port))  # pyright: ignore[reportAttributeAccessIssue]
        start_api(services)
        wait_until(lambda: services._answers(f"{services.base}/ready"), 60, "every part to serve")
        yield services
    finally:
        services.close()
        shutil.rmtree(services.dir, ignore_errors=True)


def start_api(svc: Services, **env: str) -> None:
    """The API the clients use (`api`), unless it runs; answering when this returns."""
    if "api" not in svc.procs:
        svc.start("api", "api", **env)
    wait_until(lambda: svc._answers(f"{svc.base}/health"), 120, "the API to answer")


def stop_api(svc: Services) -> tuple[int | None, float]:
    """SIGTERM to the API the clients use: (its exit status, seconds to exit), None when it
    was still running STOP_WITHIN_S * 5 later (then killed)."""
    proc = svc.procs.pop("api")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_WITHIN_S * 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - started
    return code, time.monotonic() - started


def key_of(client: httpx.AsyncClient) -> str:
    return client.headers["x-api-key"]


async def read_stream(url: str, key: str, path: str, seen: list[ServerSentEvent]) -> None:
    async with httpx.AsyncClient(verify=tls(), base_url=url, headers={"X-API-KEY": key},
                                 timeout=httpx.Timeout(30, read=None)) as client:
        async with aconnect_sse(client, "GET", path) as source:
            assert source.response.status_code == 200, await source.response.aread()
            async for event in source.aiter_sse():
                seen.append(event)


@pytest.mark.parametrize("api_workers", [1, 2])
async def test_sigterm_ends_every_stream_with_going_away_and_exits_0_within_2_s(svc, api_workers):
    if api_workers != 1:  # the API as several processes forked by uvicorn's supervisor
        stop_api(svc)
    start_api(svc, SANDBOX_API_WORKERS=str(api_workers))
    client, _ = await svc.new_merchant()
    key = key_of(client)
    async with client:
        paths = []
        for i in range(STREAMS - 2):
            opened = await client.post("/webhook-listeners", json={"name": f"stop-{i}"},
                                       headers={"X-Idempotency-Key": secrets.token_hex(12)})
            assert opened.status_code == 200, opened.text
            paths.append(opened.json()["stream"].removeprefix("/api/v1"))
        paths += ["/sandbox/requests/stream"] * 2
        seen: list[list[ServerSentEvent]] = [[] for _ in paths]
        readers = [asyncio.create_task(read_stream(svc.base, key, path, events))
                   for path, events in zip(paths, seen, strict=True)]
        try:
            # Each stream has said its first word: the listener's `ready`, the tail's start (an id).
            async def all_open() -> bool:
                for reader in readers:
                    if reader.done():
                        reader.result()
                return all(seen)

            deadline = time.monotonic() + 30
            while not await all_open():
                assert time.monotonic() < deadline, f"streams not open after 30 s: {seen}"
                await asyncio.sleep(0.02)
            code, took = await asyncio.to_thread(stop_api, svc)
            await asyncio.wait_for(asyncio.gather(*readers), 5)
        finally:
            for reader in readers:
                reader.cancel()
            start_api(svc)  # as the other tests find it: one process

    assert code == 0 and took < STOP_WITHIN_S, f"the API exited {code} {took:.2f} s after SIGTERM"
    for path, events in zip(paths, seen, strict=True):
        last = events[-1]
        assert last.event == EVENT, (path, [e.event for e in events])
        assert last.json() == {"reason": last.json()["reason"], "retry_ms": RETRY_MS} and last.retry == RETRY_MS
        assert [e.event for e in events].count(EVENT) == 1
        if path.startswith("/sandbox/requests"):
            # Where it would resume: where it started (nothing was logged meanwhile).
            assert last.id == events[0].id and events[0].id and events[0].id.isdigit(), events
        else:
            assert events[0].event == "ready"


def start_client(args: list[str], out: Path, err: Path) -> subprocess.Popen:
    """`sandbox <args>`, its stdout and stderr to files (a pipe nobody reads would fill)."""
    with out.open("ab") as o, err.open("ab") as e:
        return subprocess.Popen([SANDBOX, *args], stdout=o, stderr=e)


def said(path: Path, text: str) -> bool:
    return text in path.read_text(errors="replace")


async def test_logs_tail_resumes_across_a_restart_even_before_its_first_line(svc, tmp_path):
    start_api(svc)
    client, _ = await svc.new_merchant()
    replica = f"http://127.0.0.1:{svc.replica_port}/api/v1"  # pyright: ignore[reportAttributeAccessIssue]
    out, err = tmp_path / "tail.out", tmp_path / "tail.err"
    tail = start_client(["logs", "tail", "--format", "json", "--path", "/api/v1/balance", "--url",
                         f"http://127.0.0.1:{svc.api_port}", "--key", key_of(client)], out, err)
    try:
        wait_until(lambda: said(err, "Tailing the request log"), 30, "the tail's stream to open")
        code, took = stop_api(svc)
        assert code == 0 and took < STOP_WITHIN_S, f"the API exited {code} {took:.2f} s after SIGTERM"
        wait_until(lambda: said(err, "the sandbox is stopping"), 10, "the tail to hear the stop")
        # While it is down, a request to the other replica; then one to it, started again.
        async with client:
            down = await client.get(replica + "/balance")
            start_api(svc)
            up = await client.get("/balance")
        asked = [down.headers["x-request-id"], up.headers["x-request-id"]]
        wait_until(lambda: said(out, asked[1]), 30, "the request after the restart in the tail")
        wait_until(lambda: said(err, "stream resumed"), 5, "the tail to say it resumed")
        shown = [json.loads(line)["id"] for line in out.read_text().splitlines()]
        assert shown == asked, (shown, err.read_text())
    finally:
        tail.terminate()
        tail.wait(10)
        start_api(svc)


async def test_listen_resumes_across_a_restart_and_loses_nothing(svc, tmp_path):
    start_api(svc)
    receiver = await Receiver().start()
    client, merchant_id = await svc.new_merchant()
    replica = httpx.AsyncClient(verify=tls(), base_url=f"http://127.0.0.1:{svc.replica_port}/api/v1",  # pyright: ignore[reportAttributeAccessIssue]
                                headers={"X-API-KEY": key_of(client)}, timeout=60)
    out = tmp_path / "listen.out"
    listener = start_client(["listen", "--forward-to", receiver.url(), "--url", f"http://127.0.0.1:{svc.api_port}",
                             "--key", key_of(client)], out, out)
    try:
        await asyncio.to_thread(wait_until, lambda: said(out, "Ready!"), 30, "the listener to say Ready!")
        before = await create_payouts(client, ["12345678900001"])
        await _wait_for_events(receiver, client, 3, "the first payout's events at the receiver")
        code, took = await asyncio.to_thread(stop_api, svc)
        assert code == 0 and took < STOP_WITHIN_S, f"the API exited {code} {took:.2f} s after SIGTERM"
        await asyncio.to_thread(wait_until, lambda: said(out, "the sandbox is stopping"), 10,
                                "the listener to hear the stop")
        during = await create_payouts(replica, ["12345678900001"])  # its events wait for a listener
        await asyncio.to_thread(start_api, svc)
        after = await create_payouts(client, ["12345678900001"])
        # Every event of the three payouts (created, processing, success each) reaches the receiver.
        events = await _wait_for_events(receiver, client, 9, "every event at the receiver")
        assert {e["data"]["id"] for e in events} == {p["id"] for p in before + during + after}
        assert {e["id"] for e in events} <= set(receiver.ids()), (out.read_text()[-2000:])
    finally:
        listener.terminate()
        listener.wait(10)
        await replica.aclose()
        await client.aclose()
        await receiver.stop()
        start_api(svc)
    assert merchant_id


async def _wait_for_events(receiver: Receiver, client: httpx.AsyncClient, n: int, what: str) -> list[dict]:
    """The merchant's events once there are `n` and each has reached the receiver."""
    deadline = time.monotonic() + 90
    while True:
        events = (await client.get("/events", params={"limit": 100})).json()["data"]
        if len(events) >= n and {e["id"] for e in events} <= set(receiver.ids()):
            return events
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {len(events)} events, " \
                                            f"{len(set(receiver.ids()))} received"
        await asyncio.sleep(0.1)
