"""docs/coding-agents.md: every JSON block parses and names the server as a client reads
it, and a new user's path works: the SDK's client starts the server from the guide's
Claude Desktop configuration (the URL and key filled in), walks a payout and explains it."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_codeblocks import extract_from_file

from tests.mcp.client import SANDBOX, call, over_stdio

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "coding-agents.md"


def servers() -> list[dict]:
    """The `mypay-sandbox` entry of each JSON block, as its client reads it."""
    found = []
    for block in extract_from_file(GUIDE):
        if (block.syntax or "").strip() == "json":
            config = json.loads(block.code)  # a block that does not parse fails here, naming its text
            [entry] = (config.get("mcpServers") or config["servers"]).values()
            found.append(entry)
    return found


def test_every_config_block_parses_and_starts_sandbox_mcp_or_names_its_http_endpoint():
    entries = servers()
    assert len(entries) >= 4
    for entry in entries:
        if "command" in entry:
            assert entry["command"] == "sandbox" and entry["args"][0] == "mcp", entry
        else:
            assert entry["type"] == "http" and entry["url"].endswith(":8010/mcp"), entry


async def test_a_new_user_starts_it_from_the_guides_config_and_a_payout_is_walked_and_explained(stack):
    [desktop] = [e for e in servers() if "env" in e]
    args = [a.replace("http://127.0.0.1:8000", stack.base_url) for a in desktop["args"]]
    env = {name: stack.admin_key for name in desktop["env"]}  # the placeholder, filled in
    async with over_stdio(*args, command=SANDBOX if desktop["command"] == "sandbox" else desktop["command"],
                          env=env) as mcp:
        assert (await call(mcp, "whoami"))["mode"] == "admin"
        await call(mcp, "new_merchant", clock="manual")
        payout = (await call(mcp, "create_payout", account_suffix="0006"))["payout"]
        await call(mcp, "advance_clock", until_idle=True)
        why = await call(mcp, "explain_payout", payout_id=payout["id"])
        print(why["summary"])
        assert why["payout"]["status"] == "returned" and "MD07" in why["summary"]
