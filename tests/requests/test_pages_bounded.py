"""The request log answers in pages bounded in entries and bytes whatever it holds: an
entry's 64 KB body of control characters grows six times when JSON escapes it, and a HAR
of 1,000 of them was 395 MB built in one piece (the API process grew by half a gigabyte,
`/ready` stalled for seconds). Now each page of the list and the HAR stops before 8 MiB,
and its cursor leads to the rest, each entry exactly once."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time

import httpx
import msgspec
import psutil

from sandbox.requests.service import PAGE_BYTES
from sandbox.requests.store import COLUMNS
from tests.helpers import payout_body, wait_for
from tests.process.services import running_services

WALKS = 2  # at once: as many as the API makes pages at a time (service._AT_ONCE)
BODY = bytes(range(1, 32)) * (65_536 // 31) + b"\x01" * (65_536 % 31)  # 64 KB that JSON escapes as \u00XX
assert len(BODY) == 65_536


class _Har(msgspec.Struct):
    log: _Log


class _Log(msgspec.Struct, rename={"has_more": "_hasMore", "next_cursor": "_nextCursor"}):
    entries: list[_Entry]
    has_more: bool = False
    next_cursor: str | None = None


class _Entry(msgspec.Struct, rename={"request_id": "_requestId"}):
    request_id: str


async def _control_characters(client: httpx.AsyncClient, n: int, concurrency: int = 8) -> None:
    """`n` POSTs of a 64 KB body of control characters: each a 400 whose body the log keeps."""
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            r = await client.post("/payouts", content=BODY, headers={
                "Content-Type": "application/json", "X-Idempotency-Key": secrets.token_hex(12)})
            assert r.status_code == 400, r.text

    await asyncio.gather(*(one() for _ in range(n)))


async def _walk_har(client: httpx.AsyncClient, **params) -> tuple[list[str], list[int]]:
    """Every page of the HAR by its `Link: rel="next"`: the entries' ids, each page's size."""
    ids: list[str] = []
    sizes: list[int] = []
    url: str | None = "/sandbox/requests.har"
    while url is not None:
        r = await client.get(url, params=params if not sizes else None)
        assert r.status_code == 200, r.text
        log = msgspec.json.decode(r.content, type=_Har).log
        ids += [e.request_id for e in log.entries]
        sizes.append(len(r.content))
        assert log.has_more == ("link" in r.headers)
        url = r.headers["link"].split(";")[0].strip("<>").removeprefix("/api/v1") if log.has_more else None
        assert url is None or f"cursor={log.next_cursor}" in url
    return ids, sizes


async def test_list_and_har_pages_stop_before_their_byte_cap_and_page_through_everything(merchant):
    await _control_characters(merchant.http, 30)
    await merchant.post("/payouts", payout_body())
    everything = {"method": "POST"}

    ids, sizes = await _walk_har(merchant.http, **everything)
    assert len(ids) == len(set(ids)) == 31 and len(sizes) > 1  # 31 escaped entries make more than 8 MiB
    assert all(size <= PAGE_BYTES + 4096 for size in sizes), sizes

    listed: list[str] = []
    cursor = None
    while True:
        r = await merchant.get("/sandbox/requests", params={**everything, "limit": 100,
                                                            **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200 and len(r.content) <= PAGE_BYTES + 4096
        page = r.json()
        listed += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        assert len(page["data"]) < 100  # cut by bytes, not by the limit
        cursor = page["next_cursor"]
    assert len(listed) == len(set(listed)) and set(listed) == set(ids)
    # The HAR's own limit, and its Link keeps the filters.
    r = await merchant.get("/sandbox/requests.har", params={"limit": 1, "method": "POST"})
    assert len(r.json()["log"]["entries"]) == 1 and "method=POST" in r.headers["link"]


async def _newest(services, merchant_id: str, n: int, of: int) -> list[str]:
    """The ids of the merchant's `n` newest entries, oldest first, once it has `of` (the API
    writes an answered request's entry just after its answer)."""
    async def logged():
        rows = await services.sql("SELECT id FROM request_log WHERE merchant = $1 ORDER BY number DESC", merchant_id)
        return [r["id"] for r in reversed(rows[:n])] if len(rows) == of else None
    return await wait_for(logged, 30, what=f"{of} entries in the request log")


async def _copied(services, merchant_id: str, request_ids: list[str], times: int) -> None:
    """`times` more of the entries `request_ids`, in their order, after the newest: each copy
    the row the API wrote, with an X-Request-ID (and an idempotency key, if it had one) of
    its own."""
    others = [c for c in COLUMNS if c not in ("id", "idempotency_key")]
    await services.sql(
        f"INSERT INTO request_log (id, idempotency_key, {', '.join(others)})"
        f" SELECT 'req_' || substr(md5(random()::text), 1, 24),"
        f" CASE WHEN idempotency_key IS NULL THEN NULL ELSE md5(random()::text) END, {', '.join(others)}"
        f" FROM request_log JOIN unnest($2::text[]) WITH ORDINALITY AS given(id, place) USING (id),"
        f" generate_series(1, $3) AS copy WHERE merchant = $1 ORDER BY copy, place",
        merchant_id, request_ids, times)


# Asks /ready every 20 ms until a line comes on stdin; prints each answer's time (a
# status other than 200 counts as forever).
_PROBE = """
import sys, threading, time, httpx
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
with httpx.Client(timeout=5) as c:
    while not stop.is_set():
        t = time.perf_counter()
        ok = c.get(sys.argv[1]).status_code == 200
        print(time.perf_counter() - t if ok else 99.0, flush=True)
        time.sleep(0.02)
"""


def test_the_worst_export_keeps_the_api_process_bounded_and_ready():
    """The issue's worst case on a real `sandbox api` process: a merchant key that sent 1,000
    400s with 64 KB bodies of control characters, then mixed requests, exports its whole
    log twice at once, page by page. The API process stays within 64 MB of where it
    was, and `/ready` answers within 100 ms throughout (the tail allowed: see below).

    The log is made as the API writes it, not by sending it all: one request of each kind
    is sent and its entry, as the API logged it, copied in the database (`_copied`). Sending
    the 1,100 (64 MB of bodies to redact and log, and fifty reads answering up to 8 MiB each)
    took about as long as the export itself, which is what is measured."""
    # One API process: /ready is then asked of the process that exports.
    with running_services(SANDBOX_API_WORKERS="1") as services:
        asyncio.run(_worst_export(services))


async def _worst_export(services) -> None:
    client, merchant_id = await services.new_merchant()
    async with client:
        await _control_characters(client, 1)
        await _copied(services, merchant_id, await _newest(services, merchant_id, 1, of=1), 999)
        # Mixed: a payout made, and a read of the log whose answer is large; 50 of each.
        r = await client.post("/payouts", json=payout_body(amount="1.00"),
                              headers={"X-Idempotency-Key": secrets.token_hex(12)})
        assert r.status_code == 201, r.text
        assert (await client.get("/sandbox/requests", params={"limit": 100})).status_code == 200
        await _copied(services, merchant_id, await _newest(services, merchant_id, 2, of=1002), 49)
        # `sandbox api` may serve from worker processes it starts: each is measured.
        parent = psutil.Process(services.procs["api"].pid)
        apis = [parent, *parent.children(recursive=True)]
        before = [p.memory_info().rss for p in apis]
        peak = list(before)
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                for i, p in enumerate(apis):
                    peak[i] = max(peak[i], p.memory_info().rss)
                await asyncio.sleep(0.01)

        # /ready is timed from a process of its own: this one's loop is busy reading pages.
        probe = await asyncio.create_subprocess_exec(sys.executable, "-c", _PROBE, services.base + "/ready",
                                                     stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        walks = await asyncio.gather(*(_walk_har(client) for _ in range(WALKS)))
        took = time.perf_counter() - started
        done.set()
        await sampler
        ready = [float(t) for t in (await asyncio.wait_for(probe.communicate(b"stop\n"), 30))[0].split()]
    ids, sizes = walks[0]
    grown = max(p - b for p, b in zip(peak, before, strict=True)) / 2**20
    print(f"worst export: {len(ids)} entries, {sum(sizes) / 2**20:.0f} MiB in {len(sizes)} pages (largest"
          f" {max(sizes) / 2**20:.1f} MiB), {took:.1f} s for {WALKS} at once; API processes' RSS"
          f" {[b >> 20 for b in before]} MiB before, {[p >> 20 for p in peak]} at most (+{grown:.0f});"
          f" /ready slowest {max(ready) * 1000:.0f} ms of {len(ready)}")
    # Each walk has every entry once (requests logged meanwhile are newer than its cursor).
    assert all(len(w[0]) >= 1100 and len(set(w[0])) == len(w[0]) for w in walks)
    assert grown < 64, f"an API process grew by {grown:.0f} MB"
    # Never near the old stall, when the export held the API's loop (2.1 s here, 3.1 s in the
    # issue). How fast /ready answers otherwise is the machine's: on one shared by many test
    # runs (load 22 on 2 cores) its 95th percentile was 144 ms and its slowest 341 ms; a bound
    # on those failed runs that exported well, so the bench measures speed and this the stall.
    ready.sort()
    assert ready[-1] < 1.0, f"/ready stalled while the export ran: slowest {ready[-5:]}"
