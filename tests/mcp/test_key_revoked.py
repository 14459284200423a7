"""An MCP session ends with its key: nothing of the API stays open between calls, so after the
key's revocation the session's next call is refused, saying why and what to do (docs/security.md,
"What a key keeps open")."""

from __future__ import annotations

import pytest

from tests.mcp.client import call, over_stdio, refused

pytestmark = pytest.mark.process


async def test_a_revoked_merchant_key_is_said_at_the_next_call(stack, admin, merchant):
    async with over_stdio("mcp", "--url", stack.base_url, "--key", merchant.key) as mcp:
        assert (await call(mcp, "whoami"))["merchant"]["id"] == merchant.merchant_id
        rolled = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})
        assert rolled.status_code == 201, rolled.text
        said = await refused(mcp, "whoami")
    assert "401" in said and "revoked" in said and "start sandbox mcp again with the new key" in said, said
