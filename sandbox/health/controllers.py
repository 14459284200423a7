from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from sandbox import db, redis_client, version


class Health(msgspec.Struct):
    status: str
    version: str  # the sandbox's own (its package's), e.g. to tell which image a CI job ran against


class Ready(msgspec.Struct):
    status: str
    postgres: str
    redis: str
    # Said, not counted in `status`: the API serves without a worker (its steps wait and
    # are swept up later), and several APIs may share workers that run elsewhere.
    worker: str


VERSION = version.of()  # read once: /health is asked every few seconds

# /ready answers within this, whatever the servers do: a frozen one is reported down.
READY_DEADLINE_S = 2.0


async def _check(probe) -> str:
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=READY_DEADLINE_S)
    if not done:
        # Not awaited: a cancelled statement on a frozen server takes its own deadline to
        # let go of its connection, and /ready must not wait for that.
        task.cancel()
        return "down: TimeoutError"
    if isinstance(exc := task.exception(), NoWorker):
        return f"down: {exc}"
    if exc is not None:  # any failure means "not ready"; say which kind
        return f"down: {type(exc).__name__}"
    return "ok"


class NoWorker(Exception):
    def __str__(self) -> str:
        from worker.main import HEALTH_INTERVAL_S

        return f"no worker reported in the last {HEALTH_INTERVAL_S + 1}s"


async def _worker_reported() -> None:
    """A worker wrote arq's health key lately (it expires soon after the last one stops)."""
    from worker.main import HEALTH_KEY

    if not await redis_client.get().exists(HEALTH_KEY):
        raise NoWorker


class HealthController(Controller):
    path = "/"
    tags = ["Health"]
    security = [{}]

    @get("/health", operation_id="health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok", version=VERSION)

    @get("/ready", operation_id="ready", summary="PostgreSQL and Redis answer",
         responses={503: ResponseSpec(data_container=Ready, description="A backing service is down",
                                      generate_examples=False)})
    async def ready(self) -> Response[Ready]:
        pg, rd, wk = await asyncio.gather(_check(lambda: db.fetchval("SELECT 1")),
                                          _check(lambda: redis_client.get().ping()), _check(_worker_reported))
        ok = pg == "ok" and rd == "ok"
        return Response(Ready(status="ok" if ok else "unavailable", postgres=pg, redis=rd, worker=wk),
                        status_code=200 if ok else 503)
