"""A served request is freed the moment it ends: neither the server's request cycle nor the
request's log entry is left in a reference cycle for the garbage collector. While every
request did (the server's send kept in the scope, the log entry kept there holding the send
chain), the API collected garbage several times a second under load, a tenth of a GET's
CPU (docs/benchmark.md). An error answer still ends in a cycle (its exception's traceback
holds the frames that raised it): rarer, and left alone."""

from __future__ import annotations

import gc

from uvicorn.protocols.http.h11_impl import RequestResponseCycle as H11Cycle
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as HttptoolsCycle

from sandbox.requests.entry import Entry
from tests.helpers import payout_body

CYCLES = (HttptoolsCycle, H11Cycle, Entry)


async def test_requests_leave_no_reference_cycles(merchant):
    created = await merchant.post("/payouts", payout_body())  # warm: first-use caches fill
    assert created.status_code == 201
    gc.collect()
    # What is alive now belongs to earlier requests (another test's answer still streaming, or
    # its connection not yet closed): only what these requests leave behind is judged.
    before = {id(o) for o in gc.get_objects() if isinstance(o, CYCLES)}
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds unreachable stays in gc.garbage
    try:
        for _ in range(5):
            assert (await merchant.post("/payouts", payout_body())).status_code == 201
            assert (await merchant.get(f"/payouts/{created.json()['id']}")).status_code == 200
            assert (await merchant.get("/payouts")).status_code == 200
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if isinstance(o, CYCLES) and id(o) not in before]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
