"""A greedy client's burst against `sandbox mcp --http`: 1,000 handshakes and 1,000
session-less new_merchant calls from one client (this process), while a second client (the
SDK's default client, in a process of its own) makes a payout every 250 ms. The second is
always answered and always gets its merchant; the server's resident memory grows by less
than RSS_BOUND_KIB. Prints the figures."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import pytest

from sandbox.mcp.fairness.inflight import CALLS_IN_FLIGHT
from sandbox.mcp.merchants import MOST_PER_CLIENT
from tests.mcp.client import http_server, rss_kib, second_client

pytestmark = pytest.mark.process

SESSIONS_PER_CLIENT = 20  # the guide says so (docs/coding-agents.md, "Fair shares")

BURST = 1000
AT_ONCE = CALLS_IN_FLIGHT  # the greedy client's requests in flight at a time: its cap (fairness/inflight.py)
RSS_BOUND_KIB = 32 * 1024


async def _greedy(url: str) -> dict[str, int]:
    """The greedy client, in a process of its own (tests/mcp/greedy_client.py): the API
    serving the second client runs in this test's event loop, and must not wait on it."""
    done = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.mcp.greedy_client", url, str(BURST),
                                                str(AT_ONCE), stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(done.communicate(), 600)
    assert done.returncode == 0
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_a_greedy_burst_leaves_another_client_answered_with_its_merchant_and_memory_bounded(stack):
    pid: list[int] = []
    async with http_server(stack, pid=pid) as url:
        before, _ = rss_kib(pid[0])
        started = time.monotonic()
        greedy = asyncio.ensure_future(_greedy(url))
        other = await second_client(url, payouts=40, every=0.25, timeout=600)
        counts = await greedy
        took = time.monotonic() - started
        after, peak = rss_kib(pid[0])
        latencies = [s for name, s in other["calls"] if name == "create_payout"]
        print(f"burst: {BURST} handshakes and {BURST} new_merchant from one client in {took:.1f} s: {counts}; "
              f"second client: {len(latencies)} payouts, latency median {statistics.median(latencies):.3f} s, "
              f"max {max(latencies):.3f} s, new_merchant {other['calls'][0][1]:.3f} s, errors {other['errors']}; "
              f"server RSS {before} KiB before, {after} KiB after, peak {peak} KiB: +{peak - before} KiB")
        assert other["errors"] == [] and other["handle"] and len(latencies) == 40
        assert counts["handshake 200"] == SESSIONS_PER_CLIENT and counts["handshake 429"] == BURST - SESSIONS_PER_CLIENT
        # (a call the loaded API answers past the tool's deadline is refused too: at most the bound is made)
        assert 0 < counts["new_merchant made"] <= MOST_PER_CLIENT
        # At its cap in flight and waiting for each answer before the next request, never refused
        # for it: the place is free once the answer is sent (a few 429s came when it was freed later).
        assert "new_merchant 429" not in counts
        assert counts["new_merchant made"] + counts["new_merchant refused"] == BURST
        assert peak - before < RSS_BOUND_KIB
