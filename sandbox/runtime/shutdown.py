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

STEP_DEADLINE_S = 5.0  # far above what a step takes
# All the steps together: a process is gone within `docker stop`'s 10 s grace however many
# of its steps hang. A step that starts after the total has run out still gets a moment,
# so what it closes is closed when it can be.
TOTAL_DEADLINE_S = 7.0
LAST_CHANCE_S = 0.5


async def in_turn(*steps: tuple[str, Callable[[], Awaitable[object]]], deadline_s: float = STEP_DEADLINE_S,
                  total_s: float = TOTAL_DEADLINE_S) -> None:
    loop = asyncio.get_running_loop()
    ends = loop.time() + total_s
    for name, step in steps:
        budget = min(deadline_s, max(LAST_CHANCE_S, ends - loop.time()))
        try:
            await asyncio.wait_for(step(), budget)
        except TimeoutError:
            log.error("shutdown: %s did not finish within %g s; went on without it", name, round(budget, 1))
        except Exception as exc:  # noqa: BLE001 - the steps after it must still run
            log.warning("shutdown: %s failed (%s: %s)", name, type(exc).__name__, exc)
