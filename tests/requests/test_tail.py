"""The request log as it grows (GET /sandbox/requests/stream, through `sandbox logs
tail`'s own code): a request shows within a second of its answer, the filters hold, and
no secret shows (the redaction battery, run through the tail)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

from sandbox.client.tail import Options, tail
from sandbox.requests import store
from tests.helpers import payout_body, wait_for
from tests.requests.test_secrets_redacted import PLANTED_REQUESTS, assert_hidden, plant_everywhere


@contextlib.asynccontextmanager
async def tailing(stack, merchant, **filters) -> AsyncIterator[list[tuple[float, str]]]:
    """(when it was printed, the line) for each line the tail prints, until the block ends.
    The tail resumes after the merchant's newest entry now (as `Last-Event-ID` does): a
    tail "from now on" starts where the log ends when its stream opens, which may be after
    the block's first requests."""
    lines: list[tuple[float, str]] = []
    options = Options(url=stack.base_url, key=merchant.key, out=lambda line: lines.append((time.monotonic(), line)),
                      err=lambda line: None, after=await store.newest_number(merchant.merchant_id), **filters)
    task = asyncio.create_task(tail(options))
    try:
        yield lines
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def test_a_request_shows_within_a_second_of_its_answer(stack, merchant) -> None:
    async with tailing(stack, merchant) as lines:
        for _ in range(5):
            r = await merchant.get("/balance")
            answered = time.monotonic()
            request_id = r.headers["x-request-id"]
            shown = await wait_for(lambda rid=request_id: _line_with(lines, rid), timeout=5, interval=0.01,
                                   what="the request in the tail")
            assert shown[0] - answered < 1.0, f"shown {shown[0] - answered:.2f} s after its answer"
            assert " 200  GET /api/v1/balance " in shown[1]


async def _line_with(lines, text: str):
    return next((line for line in lines if text in line[1]), None)


async def test_filters(stack, merchant) -> None:
    async with tailing(stack, merchant, status="4xx") as fours, \
            tailing(stack, merchant, method="POST", path="/api/v1/payouts") as posts, \
            tailing(stack, merchant, idempotency_outcome="replayed", json=True) as replays:
        assert (await merchant.get("/payouts/po_nothing")).status_code == 404
        assert (await merchant.get("/balance")).status_code == 200
        assert (await merchant.post("/payouts", payout_body(), idem="tail-1")).status_code == 201
        assert (await merchant.post("/payouts", payout_body(), idem="tail-1")).status_code == 201  # replayed
        assert (await merchant.post("/sandbox/topups", {"amount": "1.00"})).status_code == 201
        # The last requests match each filter: a stream sends the log in its order, so once
        # a tail shows the last request it matches, it has shown every earlier one.
        assert (await merchant.post("/payouts", payout_body(), idem="tail-2")).status_code == 201
        last_post = await merchant.post("/payouts", payout_body(), idem="tail-2")  # replayed
        last_404 = await merchant.get("/payouts/po_last")
        await wait_for(lambda: _line_with(fours, last_404.headers["x-request-id"]), timeout=5, what="the last 404")
        await wait_for(lambda: _line_with(posts, last_post.headers["x-request-id"]), timeout=5, what="the last POST")
        await wait_for(lambda: _line_with(replays, last_post.headers["x-request-id"]), timeout=5,
                       what="the last replay")
    assert [line.split("  ")[1:3] for _, line in fours] == [["404", "GET /api/v1/payouts/po_nothing"],
                                                            ["404", "GET /api/v1/payouts/po_last"]]
    assert [line.split("  ")[1:3] for _, line in posts] == [["201", "POST /api/v1/payouts"]] * 4
    assert [line.split("key=")[1].split(")")[0] for _, line in posts] == [
        "tail-1 (first", "tail-1 (replayed", "tail-2 (first", "tail-2 (replayed"]
    entries = [json.loads(line) for _, line in replays]  # --format json: each as GET /sandbox/requests/{id}
    assert [e["idempotency_key"] for e in entries] == ["tail-1", "tail-2"]
    assert all(e["idempotency_outcome"] == "replayed" for e in entries)
    assert entries[0] == (await merchant.get(f"/sandbox/requests/{entries[0]['id']}")).json()


async def _count(lines, n: int) -> bool:
    return len(lines) >= n


async def test_no_secret_shows_in_the_tail(stack, merchant) -> None:
    async with tailing(stack, merchant, json=True) as lines:
        known = await plant_everywhere(stack, merchant)
        await wait_for(lambda: _count(lines, PLANTED_REQUESTS * len(known)), timeout=10, what="the battery's requests")
    assert_hidden({f"tail line {i}": line for i, (_, line) in enumerate(lines)}, known)
    async with tailing(stack, merchant) as plain:  # the one-line form, of a battery with new secrets
        again = await plant_everywhere(stack, merchant)
        await wait_for(lambda: _count(plain, PLANTED_REQUESTS * len(again)), timeout=10, what="the battery again")
    assert_hidden({f"text line {i}": line for i, (_, line) in enumerate(plain)}, again)
