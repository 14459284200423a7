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
