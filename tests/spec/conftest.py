"""The spec the API serves, for the tests that read it."""

from __future__ import annotations

import httpx
import pytest

from sandbox.client.blocking import tls


@pytest.fixture
async def spec(stack) -> dict:
    async with httpx.AsyncClient(verify=tls()) as c:
        r = await c.get(stack.base_url + "/schema/openapi.json")
    assert r.status_code == 200
    return r.json()
