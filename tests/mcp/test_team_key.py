"""`sandbox mcp` started with a team key: its new_merchant goes through the API with that
key, so the merchant it makes is the team's (judged by the team, unknown to another team),
the team's merchant quota refuses it in words, and a payout of another team's merchant is
as missing to it as one that never existed."""

from __future__ import annotations

from sandbox import db
from tests.helpers import Api, new_team, payout_body
from tests.mcp.client import call, over_stdio, refused


async def _team(admin, stack, name: str, **quotas) -> Api:
    return await new_team(stack, admin, name, **quotas)


async def test_a_team_keys_mcp_makes_the_teams_merchants_and_sees_no_other_teams(stack, admin, database):
    other = await _team(admin, stack, "other")
    made = await other.post("/sandbox/merchants", {"name": "theirs", "opening_balance": "500000.00"})
    theirs = Api(stack.base_url, made.json()["api_key"])
    their_payout = (await theirs.post("/payouts", payout_body("150000.00"))).json()["id"]
    probe = await _team(admin, stack, "probe", max_merchants=1)
    try:
        async with over_stdio("mcp", "--url", stack.base_url, "--admin-key", probe.key) as mcp:
            merchant_id = (await call(mcp, "new_merchant", clock="manual"))["merchant"]["id"]
            assert await db.fetchval("SELECT team FROM merchant WHERE id = $1", merchant_id) == probe.team_id
            words = await refused(mcp, "new_merchant")
            assert "max_merchants 1" in words, words
            missing = await refused(mcp, "explain_payout", payout_id="po_missing000000000000000")
            theirs_words = await refused(mcp, "explain_payout", payout_id=their_payout)
            assert theirs_words.replace(their_payout, "po_missing000000000000000") == missing
        body = {"require_safe_retries": True, "merchants": [merchant_id]}
        assert (await probe.http.post("/sandbox/gate", json=body)).status_code == 200
        assert (await other.http.post("/sandbox/gate", json=body)).status_code == 404
    finally:
        for api in (other, theirs, probe):
            await api.aclose()
