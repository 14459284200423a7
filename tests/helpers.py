"""What tests share besides fixtures: the stack's keys, a free port, an in-loop HTTP
server, polling with a deadline, an API client per key, a fresh merchant, request
bodies. Fixtures live in tests/conftest.py."""

from __future__ import annotations

import asyncio
import functools
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import uvicorn

from sandbox.client.blocking import tls

# What the pytest runs the suite starts (a sample project's suite, a guide's test module) leave
# out: pytest's cache, of no use to a throwaway project, and two plugins that dev dependencies
# bring and no test uses (faker's, which Litestar's polyfactory brings, and schemathesis';
# tests/spec uses its engine): 3 s of imports in every pytest process on two cores.
# pyproject.toml's addopts leaves the two plugins out of the suite's own run. And the suite's
# own order and repetition (pytest-randomly, pytest-repeat), which an integrator's project
# does not have: its tests run in the order it wrote them, as they would there.
UNUSED_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:faker", "-p", "no:schemathesis",
                  "-p", "no:randomly", "-p", "no:repeat")
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


async def serve(app, port: int):
    """Run an ASGI app under uvicorn in this event loop, over real HTTP."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


async def wait_for(predicate, timeout: float = 60.0, interval: float = 0.02,
                   what: str | Callable[[], str] = "condition"):
    """Poll an async predicate until it returns something truthy, or fail at the deadline.
    `what` says what was awaited; a callable is asked at the deadline (the state last seen)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")
        await asyncio.sleep(interval)


class Api:
    """An HTTP client for one key; mutating calls get a fresh idempotency key unless given."""

    def __init__(self, base_url: str, key: str | None) -> None:
        headers = {"X-API-KEY": key} if key else {}
        self.http = httpx.AsyncClient(verify=tls(), base_url=base_url + "/api/v1", headers=headers, timeout=30)
        self.key = key

    async def get(self, path: str, **kw) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def post(self, path: str, json=None, *, idem: str | None = None, headers=None, **kw) -> httpx.Response:
        headers = headers or {}
        # A key the test sends itself, under either spelling, is the request's only one: both
        # spellings at once are one header sent twice, refused 400 (sandbox/guards/single_headers.py).
        given = any(name.lower() in ("x-idempotency-key", "idempotency-key") for name in headers)
        h = {**({} if given else {"X-Idempotency-Key": idem or secrets.token_hex(16)}), **headers}
        return await self.http.post(path, json=json, headers=h, **kw)

    async def put(self, path: str, json=None, *, idem: str | None = None, **kw) -> httpx.Response:
        return await self.http.put(path, json=json, headers={"X-Idempotency-Key": idem or secrets.token_hex(16)}, **kw)

    async def delete(self, path: str, *, idem: str | None = None, **kw) -> httpx.Response:
        return await self.http.delete(path, headers={"X-Idempotency-Key": idem or secrets.token_hex(16)}, **kw)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


async def new_team(stack: Stack, admin: Api, name: str, **quotas) -> Api:
    """A team made by the operator's key (`admin`), as an Api on the team key (with `team_id`)."""
    r = await admin.post("/admin/teams", {"name": name, **quotas})
    assert r.status_code == 201, r.text
    api = Api(stack.base_url, r.json()["api_key"])
    api.team_id = r.json()["team"]["id"]
    return api


async def metrics_text(stack: Stack) -> str:
    """/metrics as the operator's Prometheus reads it: with the operator's key, as a bearer token."""
    async with httpx.AsyncClient(verify=tls(), timeout=30) as http:
        r = await http.get(stack.base_url + "/metrics", headers={"Authorization": f"Bearer {stack.admin_key}"})
    assert r.status_code == 200, r.text
    return r.text


async def new_merchant(stack: Stack, opening_balance: str = "1000000.00") -> tuple[Api, str]:
    # The suite's other clients' 30 s, not httpx's 5: a loaded machine's connect took longer
    # (two cores at a load of 38, .ci/debian).
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/api/v1", timeout=30) as c:
        r = await c.post("/sandbox/merchants", json={"name": "test", "opening_balance": opening_balance},
                         headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": secrets.token_hex(16)})
        assert r.status_code == 201, r.text
        body = r.json()
    return Api(stack.base_url, body["api_key"]), body["merchant"]["id"]


def bank(account: str = "12345678900001", bank_code: str = "HBL") -> dict:
    return {"type": "bank", "bank_code": bank_code, "account_number": account, "account_title": "Ali Raza"}


def payout_body(amount: str = "1500.00", account: str = "12345678900001", **extra) -> dict:
    return {"amount": amount, "currency": "PKR", "destination": bank(account), **extra}


async def reaches(api, payout_id, status, **extra):
    """The payout, once it has `status` (and the `extra` fields), within wait_for's deadline."""
    async def check():
        p = (await api.get(f"/payouts/{payout_id}")).json()
        return p if p["status"] == status and all(p.get(k) == v for k, v in extra.items()) else None
    return await wait_for(check, what=f"{payout_id} to be {status}")


async def balance(api):
    return (await api.get("/balance")).json()


@functools.cache
def app_spec() -> str:
    """The OpenAPI document the app's code makes (`sandbox.api.openapi_export.render`), made
    once per test process: each making is a new app and its whole spec, seconds of CPU, and
    the tests that read it read the same code."""
    from sandbox.api.openapi_export import render

    return render()
