"""What the Pact tests share: a client that calls the provider-state and message routes as
a verifier does, with the admin key in X-Sandbox-Admin-Key."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
async def pact(stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30,
                                 headers={"X-Sandbox-Admin-Key": stack.admin_key}) as client:
        yield client
