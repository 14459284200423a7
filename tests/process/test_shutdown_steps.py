"""A server's shutdown steps: one that never returns is named in the log and left behind,
and the steps after it still run (uvicorn would otherwise wait on it for ever)."""

from __future__ import annotations

import asyncio
import time

from sandbox.runtime import shutdown


async def test_a_step_that_hangs_or_fails_is_named_and_the_next_steps_run(caplog):
    ran = []

    async def hangs() -> None:
        await asyncio.Event().wait()

    async def fails() -> None:
        raise ConnectionError("gone")

    async def closes() -> None:
        ran.append("closed")

    started = time.monotonic()
    with caplog.at_level("WARNING", logger="sandbox.shutdown"):
        await shutdown.in_turn(("the flush", hangs), ("the client", fails), ("the pool", closes), deadline_s=0.2)
    assert ran == ["closed"]
    assert time.monotonic() - started < 5
    assert "shutdown: the flush did not finish within 0.2 s; went on without it" in caplog.text
    assert "shutdown: the client failed (ConnectionError: gone)" in caplog.text


async def test_steps_that_all_hang_end_within_the_total(caplog):
    """However many steps hang, the process is gone within the total (docker stop's grace):
    after it has run out, each step left gets only a last moment."""
    async def hangs() -> None:
        await asyncio.Event().wait()

    started = time.monotonic()
    with caplog.at_level("ERROR", logger="sandbox.shutdown"):
        await shutdown.in_turn(*[(f"step {i}", hangs) for i in range(6)], deadline_s=1.0, total_s=1.5)
    took = time.monotonic() - started
    assert 1.5 <= took < 1.5 + 5 * shutdown.LAST_CHANCE_S + 1.0, took
    assert caplog.text.count("did not finish within") == 6
