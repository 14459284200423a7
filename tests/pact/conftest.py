"""What the Pact tests share: a client that calls the provider-state and message routes as
a verifier does, with the admin key in X-Sandbox-Admin-Key."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox.client.blocking import tls


@pytest.fixture
async def pact(stack):
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url, timeout=30,
                                 headers={"X-Sandbox-Admin-Key": stack.admin_key}) as client:
        yield client


async def raw_post(client: httpx.AsyncClient, path: str, **kw) -> tuple[int, httpx.Headers, dict]:
    """A POST whose answer is read as the bytes sent: the messages route's refusals are
    sent undecodable on purpose (a Content-Encoding they are not in), which httpx would
    fail on; the problem inside them is plain JSON."""
    async with client.stream("POST", path, **kw) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    return r.status_code, r.headers, json.loads(raw)
