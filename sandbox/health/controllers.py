"""`/health`: this process answers. `/ready`: the whole sandbox serves, the one check that
`sandbox up`'s banner, the image's HEALTHCHECK, the pytest plugin, `sandbox merchant new
--wait` and the guides wait on. `/ready/api`: this API process serves (it answers, and
PostgreSQL and Redis answer it), whatever the worker and the IPN do: the readiness of an
API pod behind a load balancer, which a worker outage must not take out of service (the
outage shows in `/ready`'s body, in the worker's own `sandbox worker --check`, in
`sandbox status` and in the `sandbox_worker_up` metric). Each answers 200 only when every
part it asks serves; otherwise 503, and the body names the part that does not and why:

- api: this process (it answered);
- postgres, redis: each answers a query;
- worker: a worker wrote arq's health key lately (every worker refreshes it; it expires
  soon after the last one stops), so payouts move and webhooks go out;
- ipn: the IPN service answers its /health at `ipn_url`, the address the simulated rail
  sends the bank's callbacks to (SANDBOX_IPN_URL, else this machine's SANDBOX_IPN_PORT):
  asked over HTTP, so a 200 here means a callback sent now is taken, not that an IPN
  process started somewhere. `ipn_url` is in the body, so a job that moved the ports
  finds the IPN without guessing."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from sandbox import db, redis_client, version
from sandbox.core.types import said
from sandbox.settings import get_settings

# /ready answers within this, whatever the servers do: a frozen one is reported down.
READY_DEADLINE_S = 2.0


class Health(msgspec.Struct):
    status: Annotated[str, said("Always `ok`: the process answers (GET /ready says whether it can serve)")]
    version: Annotated[str, said("The sandbox's version, e.g. to tell which image a CI job ran against")]


PART_WORDS = (f"`ok`, or `down: ` and why (a timeout after {READY_DEADLINE_S:g} s, an error's kind, what it answered)"
              )


class ApiReady(msgspec.Struct):
    status: Annotated[str, said("`ok` when every part in this body is `ok` (answered with 200), else `unavailable` "
                                "(answered with 503)")]
    api: Annotated[str, said("Always `ok`: this API process answered")]
    postgres: Annotated[str, said(f"PostgreSQL: {PART_WORDS}")]
    redis: Annotated[str, said(f"Redis: {PART_WORDS}")]


class Ready(ApiReady):
    worker: Annotated[str, said(f"The worker (scenario steps, webhook deliveries), by its heartbeat: {PART_WORDS}")]
    ipn: Annotated[str, said(f"The IPN service, by its GET /health: {PART_WORDS}")]
    ipn_url: Annotated[str, said("The IPN service's base URL: it takes the rail's callbacks at POST "
                                 "{ipn_url}/ipn/rail")]


VERSION = version.of()  # read once: /health is asked every few seconds


class PartDown(Exception):
    """A part that answered, or was looked for, and does not serve: its message is shown."""


async def _check(probe) -> str:
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=READY_DEADLINE_S)
    if not done:
        # Not awaited: a cancelled statement on a frozen server takes its own deadline to
        # let go of its connection, and /ready must not wait for that.
        task.cancel()
        return "down: TimeoutError"
    if isinstance(exc := task.exception(), PartDown):
        return f"down: {exc}"
    if exc is not None:  # any failure means "not ready"; say which kind
        return f"down: {type(exc).__name__}"
    return "ok"


async def worker_reported() -> bool:
    """A worker wrote its heartbeat lately (also /metrics' `sandbox_worker_up`)."""
    from sandbox.health.heartbeat import HEALTH_KEY  # lazily: it imports arq

    return bool(await redis_client.get().exists(HEALTH_KEY))


async def _worker_reported() -> None:
    from sandbox.health.heartbeat import ttl_s

    if not await worker_reported():
        raise PartDown(f"no worker reported in the last {ttl_s():g}s")


def _servers() -> list:
    return [_check(lambda: db.fetchval("SELECT 1")), _check(lambda: redis_client.get().ping())]


def _answer(body, ok: bool):
    # A part down answers 503 with Retry-After, as every 503 of the API does: ask again in a second.
    return Response(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "1"})


async def _ipn_serves(base_url: str) -> None:
    """GET {base_url}/health over a plain connection: an HTTP client library would cost
    every API process its import for one request (tests/spec/test_import_budget.py)."""
    url = urlsplit(base_url)
    secure = url.scheme == "https"
    try:
        reader, writer = await asyncio.open_connection(url.hostname, url.port or (443 if secure else 80),
                                                       ssl=True if secure else None)
    except OSError as exc:
        raise PartDown(f"not serving at {base_url} ({type(exc).__name__})") from None
    try:
        writer.write(f"GET {url.path}/health HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode())
        status = (await reader.readline()).split(b" ", 2)[1:2]
    finally:
        writer.close()
    if status != [b"200"]:
        raise PartDown(f"{base_url}/health answered {b''.join(status).decode(errors='replace') or 'nothing'}")


class HealthController(Controller):
    path = "/"
    tags = ["Health"]
    security = [{}]

    @get("/health", operation_id="health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok", version=VERSION)

    @get("/ready", operation_id="ready", summary="Every part serves: API, PostgreSQL, Redis, worker, IPN",
         responses={503: ResponseSpec(data_container=Ready, description="A part is down (named in the body)",
                                      generate_examples=False)})
    async def ready(self) -> Response[Ready]:
        ipn_url = get_settings().ipn_base_url
        pg, rd, wk, ipn = await asyncio.gather(*_servers(), _check(_worker_reported),
                                               _check(lambda: _ipn_serves(ipn_url)))
        ok = pg == rd == wk == ipn == "ok"
        return _answer(Ready(status="ok" if ok else "unavailable", api="ok", postgres=pg, redis=rd, worker=wk,
                             ipn=ipn, ipn_url=ipn_url), ok)

    @get("/ready/api", operation_id="readyApi", summary="This API process serves: it answers, PostgreSQL and Redis "
                                                         "answer it (an API pod's readiness)",
         responses={503: ResponseSpec(data_container=ApiReady, description="PostgreSQL or Redis is down (named in "
                                                                            "the body)", generate_examples=False)})
    async def ready_api(self) -> Response[ApiReady]:
        """Whether a load balancer should send this process requests. The worker and the IPN
        are not asked: an outage of either leaves the API serving (payouts are taken and
        wait), and shows in `GET /ready`, `sandbox worker --check` and `sandbox_worker_up`."""
        pg, rd = await asyncio.gather(*_servers())
        ok = pg == rd == "ok"
        return _answer(ApiReady(status="ok" if ok else "unavailable", api="ok", postgres=pg, redis=rd), ok)
