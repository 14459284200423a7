"""Shared fixtures: one embedded PostgreSQL + Redis for the whole run, the API served
by uvicorn over real HTTP on a free port (in the test event loop), and a fresh merchant
per test for isolation."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

ADMIN_KEY = "sk_admin_test_suite_" + secrets.token_hex(12)
RAIL_SECRET = "rail_test_" + secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    database_url: str
    redis_url: str
    base_url: str
    admin_key: str
    ipn_url: str


@pytest.fixture(scope="session")
def servers() -> tuple[str, str]:
    """Embedded PostgreSQL and Redis in a temporary data dir (external ones when the
    SANDBOX_DATABASE_URL / SANDBOX_REDIS_URL variables are set)."""
    from sandbox.settings import get_settings

    settings = get_settings()
    if settings.database_url and settings.redis_url:
        yield settings.database_url, settings.redis_url
        return
    from sandbox.embedded import EmbeddedPostgres, EmbeddedRedis

    data_dir = Path(tempfile.mkdtemp(prefix="sandbox-tests-"))
    pg, rd = EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)
    try:
        yield pg.start(), rd.start()
    finally:
        rd.stop()
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def stack(servers) -> AsyncIterator[Stack]:
    database_url, redis_url = servers
    os.environ["SANDBOX_DATABASE_URL"] = database_url
    os.environ["SANDBOX_REDIS_URL"] = redis_url
    os.environ.setdefault("SANDBOX_TIME_SCALE", "0")
    os.environ["SANDBOX_ADMIN_KEY"] = ADMIN_KEY
    os.environ["SANDBOX_RAIL_SECRET"] = RAIL_SECRET
    ipn_port = free_port()
    os.environ["SANDBOX_IPN_URL"] = f"http://127.0.0.1:{ipn_port}"
    from sandbox import db
    from sandbox.app import create_app
    from sandbox.settings import get_settings
    from seeds.seed import seed

    settings = get_settings()
    db.configure(database_url)
    await db.start()
    await db.migrate()
    await seed(ADMIN_KEY)
    await db.stop()

    from ipn.app import create_app as create_ipn_app

    port = free_port()
    api_server, api_task = await serve(create_app(settings), port)
    ipn_server, ipn_task = await serve(create_ipn_app(settings), ipn_port)
    try:
        yield Stack(database_url, redis_url, f"http://127.0.0.1:{port}", ADMIN_KEY, f"http://127.0.0.1:{ipn_port}")
    finally:
        for server in (ipn_server, api_server):
            server.should_exit = True
        await asyncio.gather(ipn_task, api_task)


async def serve(app, port: int):
    """Run an ASGI app under uvicorn in this event loop, over real HTTP."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


@pytest.fixture
async def worker(stack) -> AsyncIterator[None]:
    """An arq worker in this event loop, for one test: payouts move while it watches.
    Tests without it see payouts stay where the API put them."""
    from worker.main import build_worker

    w = build_worker(shared_connections=True)
    task = asyncio.create_task(w.async_run())
    try:
        yield None
    finally:
        await w.close()
        task.cancel()


async def wait_for(predicate, timeout: float = 20.0, interval: float = 0.02, what: str = "condition"):
    """Poll an async predicate until it returns something truthy, or fail at the deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class Api:
    """An HTTP client for one key; mutating calls get a fresh idempotency key unless given."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"X-API-KEY": key} if key else {}
        self.http = httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers, timeout=30)
        self.key = key

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, json=None, *, idem: str | None = None, headers=None, **kw) -> httpx.Response:
        h = {"X-Idempotency-Key": idem or secrets.token_hex(16), **(headers or {})}
        return await self.http.post(path, json=json, headers=h, **kw)

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def admin(stack) -> AsyncIterator[Api]:
    api = Api(stack.base_url, stack.admin_key)
    yield api
    await api.aclose()


async def new_merchant(stack: Stack, opening_balance: str = "1000000.00") -> tuple[Api, str]:
    async with httpx.AsyncClient(base_url=stack.base_url + "/api/v1") as c:
        r = await c.post("/sandbox/merchants", json={"name": "test", "opening_balance": opening_balance},
                         headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": secrets.token_hex(16)})
        assert r.status_code == 201, r.text
        body = r.json()
    return Api(stack.base_url, body["api_key"]), body["merchant"]["id"]


@pytest.fixture
async def merchant(stack) -> AsyncIterator[Api]:
    api, merchant_id = await new_merchant(stack)
    api.merchant_id = merchant_id
    yield api
    await api.aclose()


@pytest.fixture
async def other_merchant(stack) -> AsyncIterator[Api]:
    api, merchant_id = await new_merchant(stack)
    api.merchant_id = merchant_id
    yield api
    await api.aclose()


@pytest.fixture
async def anonymous(stack) -> AsyncIterator[Api]:
    api = Api(stack.base_url, None)
    yield api
    await api.aclose()


@pytest.fixture
async def database(stack) -> AsyncIterator[None]:
    """Direct database access from a test (the same pool the app uses in this process)."""
    yield None


def bank(account: str = "12345678900001", bank_code: str = "HBL") -> dict:
    return {"type": "bank", "bank_code": bank_code, "account_number": account, "account_title": "Ali Raza"}


def payout_body(amount: str = "1500.00", account: str = "12345678900001", **extra) -> dict:
    return {"amount": amount, "currency": "PKR", "destination": bank(account), **extra}
