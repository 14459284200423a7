"""The MCP verdict tools (`gate`, `audit_webhook_receiver`) judge only the shapes the gate
and the audit model (sandbox/verdicts/shapes.py): an argument neither takes, a window,
a name the sandbox does not know is an MCP error in words, never a verdict, `held` or
`passed`, and nothing is audited."""

from __future__ import annotations

from tests.mcp.client import call, over_stdio, refused


async def test_the_verdict_tools_refuse_what_is_not_modelled_in_words(stack, merchant):
    endpoint = (await merchant.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"})).json()
    async with over_stdio("mcp", "--url", stack.base_url, "--key", merchant.key) as mcp:
        # The API's refusal passed through in its words: the name, what is known, the code.
        unknown = await refused(mcp, "gate", require_coverage=["success", "sucess"])
        assert f"'sucess': not a scenario of merchant {merchant.merchant_id} nor an operator path" in unknown
        assert "operator paths: simulate, reinitiate" in unknown and "unknown_requirement" in unknown
        # A requirement, a parameter or a window no door models: refused before anything is asked.
        duplicates = await refused(mcp, "gate", require_safe_retries=True, require_duplicates=True)
        assert "require_duplicates: is not an argument of this tool (it takes: require_coverage, " \
               "require_safe_retries, audit_endpoint, merchant)" in duplicates
        window = await refused(mcp, "gate", require_safe_retries={"window": 3600})
        assert "require_safe_retries: must be true or false" in window
        cases = await refused(mcp, "audit_webhook_receiver", endpoint_id=endpoint["id"], cases=["valid_event"])
        assert "cases: is not an argument of this tool" in cases
        # What is modelled still answers a verdict, and says it fell short where it did.
        verdict = await call(mcp, "gate", require_safe_retries=True)
        assert verdict["held"] is False and "never tested" in verdict["words"]
    audits = await merchant.http.get(f"/webhook-endpoints/{endpoint['id']}/audits")
    assert audits.json()["data"] == []  # the refused audit sent nothing and recorded nothing
