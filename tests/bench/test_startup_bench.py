"""`sandbox bench --startup` end to end with one start per figure: it runs, and its JSON
carries every figure and both goals. Presence and sanity only, never a speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import BENCH_LANE

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not os.environ.get(BENCH_LANE), reason="a run of the bench: .ci/bench-smoke runs it")
def test_startup_bench_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "startup.json"
    done = subprocess.run([sys.executable, "-m", "sandbox.cli", "bench", "--startup", "--runs", "1",
                           "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    for figure in ("up_ready_s", "up_worst_s", "plugin_session_to_first_test_s", "plugin_worst_s",
                   "plugin_command_to_first_test_s", "pytest_alone_command_to_first_test_s",
                   "pytest_alone_session_to_first_test_s"):
        assert 0 < result[figure] < 120, (figure, result)
    # One start: its worst is its median.
    assert result["up_worst_over_median"] == result["plugin_worst_over_median"] == 1.0, result
    # The plugin's sandbox is `sandbox up` behind pytest: it cannot be faster than pytest alone,
    # and its session starts after pytest's own start.
    assert result["plugin_command_to_first_test_s"] > result["pytest_alone_command_to_first_test_s"]
    assert result["plugin_session_to_first_test_s"] > result["pytest_alone_session_to_first_test_s"]
    assert result["plugin_command_to_first_test_s"] > result["plugin_session_to_first_test_s"]
    assert [g["figure"] for g in result["goals"]] == ["up_ready_s", "up_worst_over_median",
                                                     "plugin_session_to_first_test_s", "plugin_worst_over_median"]
    assert "sandbox up, fresh data dir, to /ready, every part" in done.stdout
    # The first start after an install (an empty cache) beside the later ones, and where its
    # time went by up's own ready line: its own initdb beside the imports, PostgreSQL after the forks.
    assert 0 < result["first_up_ready_s"] < 300 and len(result["first_up_runs_s"]) == 1, result
    assert result["first_over_later"] == round(result["first_up_ready_s"] / result["up_ready_s"], 2), result
    assert result["reference_loop_ms"] > 0, result
    (first,) = [line for line in done.stderr.splitlines() if "initdb here" in line]
    for step in ("PostgreSQL ", "migrate and seed ", "(PostgreSQL after the forks ", "flushed to disk ",
                 "then every part serving "):
        assert step in first, (step, first)
