"""An answer fits an agent's context whatever the API hands back, and a base install (no
`[mcp]` extra) gets one line saying what to install, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

from sandbox.mcp.bounds import MAX_BYTES, fit


def test_a_small_answer_is_untouched_and_a_huge_one_is_cut_to_fit_and_says_so():
    small = {"data": [{"id": "po_1"}], "has_more": False}
    assert fit(small) == small
    huge = {"request": {"request_body": "x" * 70_000, "response_body": "y" * 70_000},
            "rows": [{"n": n, "text": "z" * 500} for n in range(400)]}
    cut = fit(huge)
    assert len(json.dumps(cut, ensure_ascii=False).encode()) <= MAX_BYTES
    assert "ask for a smaller page" in cut["cut"]
    assert cut["request"]["request_body"].startswith("xxx") and "more characters" in cut["request"]["request_body"]
    assert cut["rows"][-1].endswith("more")


def test_without_the_extra_sandbox_mcp_says_what_to_install():
    # The SDK made unimportable, as in a base install; every other command is unaffected.
    code = ("import sys; sys.modules['mcp'] = None; from sandbox.cli import main; "
            "sys.exit(main(['mcp', '--key', 'sk_test_x']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "pip install 'mypay-sandbox[mcp]'" in done.stderr and "Traceback" not in done.stderr
    help_ = subprocess.run([sys.executable, "-X", "importtime", "-m", "sandbox.cli", "--help"], capture_output=True,
                           text=True, timeout=60)
    assert help_.returncode == 0 and "mcp" in help_.stdout
    assert not [line for line in help_.stderr.splitlines() if line.rstrip().endswith(("| mcp", "| mcp.server"))]


def test_what_the_agent_receives_text_and_structured_together_is_under_the_bound():
    from mcp_types import CallToolResult, TextContent

    from sandbox.mcp.sealed import _bounded

    big = {"rows": [{"n": n, "text": "ü" * 300} for n in range(200)]}
    result = _bounded(CallToolResult(content=[TextContent(type="text", text=json.dumps(big, indent=2))],
                                     structured_content=big))
    text = result.content[0].text
    assert json.loads(text) == result.structured_content and "cut" in result.structured_content
    assert len(text.encode()) + len(json.dumps(result.structured_content, ensure_ascii=False,
                                               separators=(",", ":")).encode()) <= MAX_BYTES


def test_a_handle_is_its_clients_bounded_forgotten_when_idle_or_with_its_session():
    from sandbox.mcp.merchants import IDLE_S, MOST_PER_CLIENT, Client, Merchant, Registry, TooMany

    now = [0.0]
    held = Registry(clock=lambda: now[0])
    session, other, address = Client("s", True), Client("t", True), Client("127.0.0.1", False)
    mine = held.add(session, Merchant("sk_test_1", "mch_1"))
    loose = held.add(address, Merchant("sk_test_2", "mch_2"))
    assert held.find(session, mine) is not None and held.find(other, mine) is None
    assert held.find(session, loose) is None  # a session-less handle is not a session's
    assert held.find(Client("10.0.0.9", False), loose) is not None  # ... but its holder's, from anywhere
    for n in range(MOST_PER_CLIENT - 1):
        held.add(session, Merchant(f"sk_test_s{n}"))
    try:
        held.add(session, Merchant("sk_test_over"))
        raise AssertionError("the bound was not kept")
    except TooMany as exc:
        assert "this session already holds" in str(exc)
    assert held.find(session, mine) is not None  # nothing was evicted
    now[0] += IDLE_S + 1
    assert held.find(Client("x", False), loose) is None  # session-less and idle: forgotten
    assert held.find(session, mine) is not None  # a session's stays while the session does
    held.end(session)
    assert held.find(session, mine) is None and len(held) == 0


def test_no_log_line_carries_a_session_id_or_a_handle_whole(caplog):
    import logging

    from sandbox.mcp.http import redact_logs

    undo = redact_logs()
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("mcp.server.streamable_http_manager").info(
                "Created new transport with session ID: %s", "0123456789abcdef0123456789abcdef")
            logging.getLogger("x").warning("handle %s", "mh_" + "A" * 32)
    finally:
        undo()
    assert "0123456789abcdef0123456789abcdef" not in caplog.text and "012345…" in caplog.text
    assert "A" * 32 not in caplog.text and "mh_AAAA…" in caplog.text
