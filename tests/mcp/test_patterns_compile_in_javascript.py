"""Every `pattern` a client may validate with compiles as ECMA-262 with the `u` flag (what
ajv and other JavaScript validators use): the MCP tools' input schemas and the API's
published spec. `[!-\\"$-~]` in the webhook URL's pattern did not ("Invalid escape"), so a
JavaScript client failed on register_webhook_endpoint (issue 92). Node compiles each one;
the test is skipped, saying so, where node is absent (CI has it). Python keeps reading
each rewritten pattern as before: the same strings match."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.mcp.connection import Sandbox
from sandbox.mcp.server import build

SPEC = Path(__file__).parents[2] / "openapi" / "openapi.json"


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def _tool_schemas() -> list[dict[str, Any]]:
    app = build(Sandbox("http://127.0.0.1:9", admin_key="sk_admin_x", deadline_s=60))
    return [tool.parameters for tool in app._tool_manager.list_tools()]


def _not_compiling(patterns: set[str]) -> dict[str, str]:
    """Each pattern Node's RegExp refuses with the u flag, and why."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: JavaScript's reading of the patterns cannot be checked here (CI has it)")
    script = ("const failed = {}; for (const p of JSON.parse(require('fs').readFileSync(0, 'utf8'))) "
              "{ try { new RegExp(p, 'u'); } catch (e) { failed[p] = e.message; } } "
              "process.stdout.write(JSON.stringify(failed));")
    done = subprocess.run([node, "-e", script], input=json.dumps(sorted(patterns)), capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_every_pattern_in_the_tool_schemas_and_the_api_spec_compiles_in_javascript():
    tools = set(_patterns(_tool_schemas()))
    spec = set(_patterns(json.loads(SPEC.read_text())))
    assert tools and spec
    assert _not_compiling(tools | spec) == {}


def test_the_webhook_urls_pattern_matches_what_it_matched_before():
    from sandbox.webhooks.model.urls import URL_PATTERN

    before = re.compile(URL_PATTERN.replace('[!"$-~]*)?$', '[!-\\"$-~]*)?$'))  # 5b1871f's
    assert before.pattern != URL_PATTERN
    now = re.compile(URL_PATTERN)
    samples = ["http://example.com", "https://a.b.example.com:8443/hook", "http://127.0.0.1:9/x?y=1&z=\"q\"",
               "http://h.example/#frag", "http://h.example/a#b", "http://h.example/ sp", "http://h.example/é",
               "ftp://h.example/", "http://h.example/!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "http://1.2.3.4/\\"]
    samples += [f"http://h.example/{chr(c)}" for c in range(0, 128)]
    assert [bool(before.match(s)) for s in samples] == [bool(now.match(s)) for s in samples]
