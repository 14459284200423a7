"""A server process's last steps at SIGTERM, one after another, each with a deadline.

uvicorn waits for the application's shutdown without a limit, so one step that never
returns (a flush to a server that is gone, a pool waiting for a connection nobody gives
back) would keep the process alive until it is killed, and say nothing. Here a step
that overruns is named in the log and left behind, and the next one runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("sandbox.shutdown")

STEP_DEADLINE_S = 5.0  # far above what a step takes, and inside `docker stop`'s 10 s grace


async def in_turn(*steps: tuple[str, Callable[[], Awaitable[object]]], deadline_s: float = STEP_DEADLINE_S) -> None:
    for name, step in steps:
        try:
            await asyncio.wait_for(step(), deadline_s)
        except TimeoutError:
            log.error("shutdown: %s did not finish within %g s; went on without it", name, deadline_s)
        except Exception as exc:  # noqa: BLE001 - the steps after it must still run
            log.warning("shutdown: %s failed (%s: %s)", name, type(exc).__name__, exc)
