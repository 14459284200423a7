from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from sandbox import db
from sandbox.core import redis as redis_client


class Health(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    postgres: str
    redis: str


async def _check(probe) -> str:
    try:
        await asyncio.wait_for(probe(), timeout=2.0)
        return "ok"
    except Exception as exc:  # any failure means "not ready"; say which kind
        return f"down: {type(exc).__name__}"


class HealthController(Controller):
    path = "/"
    tags = ["Health"]
    security = [{}]

    @get("/health", operation_id="health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok")

    @get("/ready", operation_id="ready", summary="PostgreSQL and Redis answer",
         responses={503: ResponseSpec(data_container=Ready, description="A backing service is down",
                                      generate_examples=False)})
    async def ready(self) -> Response[Ready]:
        pg = await _check(lambda: db.fetchval("SELECT 1"))
        rd = await _check(lambda: redis_client.get().ping())
        ok = pg == "ok" and rd == "ok"
        return Response(Ready(status="ok" if ok else "unavailable", postgres=pg, redis=rd),
                        status_code=200 if ok else 503)
