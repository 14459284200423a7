"""The soak's figures from its counts: what a report says when the worker did not keep up."""

from __future__ import annotations

from sandbox.bench import soak
from sandbox.bench.harness import report


def test_a_drain_that_timed_out_counts_only_what_it_finished() -> None:
    # 1,000 made while loading (600 done), 400 left; in the 10 s the drain lasted 150 more.
    rates = soak._delivery_rates({"succeeded": 0}, {"succeeded": 600, "pending": 400},
                                 {"succeeded": 750, "pending": 250}, load_s=10.0, drain_s=10.0)
    assert rates == {"made_while_loading": 100.0, "done_while_loading": 60.0, "done_while_draining": 15.0}
    nothing_left = soak._delivery_rates({}, {"succeeded": 5}, {"succeeded": 5}, load_s=1.0, drain_s=0.0)
    assert nothing_left["done_while_draining"] is None


def _result(p99s: list[float], rss: dict, behind: tuple[int, int], drained_per_s: float | None = None,
            drain_cores: float = 1.6, drain_s: float = 20.0) -> dict:
    return {"achieved_per_s": 200.0, "errors": 0, "p99_ms_by_minute": p99s, "rss_mb": rss,
            "delivery_rates": {"made_while_loading": 700.0, "done_while_draining": drained_per_s},
            "cpu_cores": {"drain": {"worker": 0.9, "postgres": 0.6, "machine": drain_cores}},
            "behind_at_end": {"payouts_unsettled": behind[0], "deliveries_pending": behind[1]},
            "left_after_drain": {"payouts_unsettled": 0, "deliveries_pending": 0, "drain_s": drain_s}}


def test_the_goals_say_which_part_of_the_soak_did_not_hold() -> None:
    rss = {"start": {"api": 100.0, "worker": 60.0}, "minute 1": {"api": 101.0, "worker": 80.0},
           "minute 2": {"api": 101.0, "worker": 95.0}, "end": {"api": 101.0, "worker": 95.0}}
    # 100 payouts left is a fraction of a minute at 200/s; 84,000 deliveries are two minutes at 700/s.
    figures = soak._figures(_result([90.0, 130.5], rss, (100, 84_000)))
    goals = {g["figure"]: g for g in report.judge(soak.GOALS, figures)}
    assert goals["payouts_behind_min"]["met"] and not goals["deliveries_behind_min"]["met"]
    assert goals["deliveries_behind_min"]["value"] == 2.0
    assert not goals["worst_minute_p99_ms"]["met"] and goals["worst_minute_p99_ms"]["value"] == 130.5
    # Memory is judged from the end of the first minute (the warm-up): +15 MB, not +35.
    assert goals["worker_rss_growth_after_warmup_mb"] == {
        "goal": "worker RSS after the first minute <= +30 MB", "figure": "worker_rss_growth_after_warmup_mb",
        "value": 15.0, "met": True}
    assert goals["errors"]["met"]


def test_a_soak_of_one_minute_judges_memory_from_its_start() -> None:
    rss = {"start": {"api": 100.0, "worker": 60.0}, "minute 1": {"api": 140.0, "worker": 61.0},
           "end": {"api": 140.0, "worker": 61.0}}
    figures = soak._figures(_result([40.0], rss, (0, 0)))
    assert figures["api_rss_growth_after_warmup_mb"] == 40.0
    assert figures["payouts_behind_min"] == 0.0 and figures["deliveries_behind_min"] == 0.0


def test_cpu_per_delivery_is_the_machine_while_draining_over_what_it_delivered() -> None:
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    # 1.6 busy cores delivering 800 a second: 2 ms of the machine's CPU each.
    figures = soak._figures(_result([40.0], rss, (0, 4_000), drained_per_s=800.0))
    goals = {g["figure"]: g for g in report.judge(soak.GOALS, figures)}
    assert goals["cpu_ms_per_delivery"]["value"] == 2.0 and not goals["cpu_ms_per_delivery"]["met"]
    assert soak._figures(_result([40.0], rss, (0, 4_000), drained_per_s=2_000.0))["cpu_ms_per_delivery"] == 0.8
    # Nothing was left to drain: no figure, and the goal is not called met without one.
    assert soak._figures(_result([40.0], rss, (0, 0)))["cpu_ms_per_delivery"] is None


def test_cpu_per_payout_counts_the_load_and_the_drain_less_the_receiver() -> None:
    """All of a payout's work, its webhooks delivered: 100 s of load at 200/s with 1.88
    cores busy (the receiver 0.12), then a 20 s drain with 1.5 (the receiver 0.3) is
    (176 + 24) CPU-seconds for 20,000 payouts, 10 ms each; each process's share beside it.
    A worker that falls behind while loading moves its deliveries' CPU into the drain, where
    the figure still counts it."""
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    result = {**_result([40.0], rss, (0, 0)), "sent": 20_000}
    result["cpu_cores"] = {
        "load": {"postgres": 0.84, "worker": 0.46, "api": 0.39, "receiver": 0.12, "bench": 0.05, "other": 0.02,
                 "machine": 1.88},
        "drain": {"worker": 0.7, "postgres": 0.5, "receiver": 0.3, "machine": 1.5}}
    figures = soak._figures(result)
    assert figures["cpu_ms_per_payout"] == 10.0
    goals = {g["figure"]: g for g in report.judge(soak.GOALS, figures)}
    assert not goals["cpu_ms_per_payout"]["met"]
    assert soak._cpu_ms_per_payout(result) == {"postgres": 4.7, "worker": 3.0, "api": 1.95, "bench": 0.25,
                                               "other": 0.1, "machine": 10.0}
    # Nothing left to drain: the load alone.
    result["cpu_cores"] = {"load": {"postgres": 0.5, "worker": 0.3, "api": 0.2, "receiver": 0.12, "machine": 1.12}}
    assert soak._figures(result)["cpu_ms_per_payout"] == 5.0
    # No load phase read (a soak cut short): no figure, and the goal is not called met.
    result["cpu_cores"] = {}
    assert soak._figures(result)["cpu_ms_per_payout"] is None


def test_the_report_leads_with_the_delivery_clients_three_figures() -> None:
    """One soak per client is the A/B: each report names its client and puts the figures
    compared on one line."""
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    result = {**_result([40.0, 85.5], rss, (0, 4_000), drained_per_s=2_000.0), "minutes": 2, "merchants": 50,
              "webhook_client": "httpx", "peak_per_s": None, "target_per_s": 200.0, "sent": 24_000,
              "p50_ms_by_minute": [5.0, 6.0], "rss_growth_mb": {"api": 0.0, "worker": 0.0},
              "webhook_deliveries": {"succeeded": 84_000},
              "processes_alive": {"api": True, "worker": True}, "ledger_invariant": "holds"}
    result["delivery_rates"]["done_while_loading"] = 650.0
    result["goals"] = report.judge(soak.GOALS, soak._figures(result))
    assert ("  client        httpx: 0.8 ms of machine CPU a delivery and 2000.0 deliveries/s while "
            "draining; worst minute's POST p99 85.5 ms") in soak.render(result).splitlines()


def test_a_soak_without_wrk_says_so_before_starting_anything(tmp_path) -> None:
    """The soak paces its load with wrk even when given --rate: without wrk it stops at once
    with one line, not with a traceback after the stack has started."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sandbox.cli", "bench", "--soak", "1", "--rate", "10"],
                          env={**os.environ, "PATH": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("sandbox bench --soak: wrk not found"), done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_a_soak_whose_worker_kept_up_says_so_rather_than_failing_the_cpu_goal() -> None:
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    result = {**_result([40.0], rss, (0, 0)), "minutes": 1, "merchants": 50, "webhook_client": "aiohttp",
              "peak_per_s": None, "target_per_s": 200.0, "sent": 12_000, "p50_ms_by_minute": [5.0],
              "rss_growth_mb": {"api": 0.0, "worker": 0.0}, "webhook_deliveries": {"succeeded": 42_000},
              "processes_alive": {"api": True, "worker": True}, "ledger_invariant": "holds"}
    result["delivery_rates"]["done_while_loading"] = 700.0
    result["goals"] = report.judge(soak.GOALS, soak._figures(result))
    lines = soak.render(result).splitlines()
    assert ("  client        aiohttp: kept up while loading, nothing left to drain; worst minute's POST p99 "
            "40.0 ms") in lines
    assert any(line.startswith("    no data  machine CPU per webhook delivery") for line in lines), lines


def test_a_drain_too_short_to_measure_gives_no_cpu_figure() -> None:
    """86 deliveries left, drained in 0.8 s while PostgreSQL still wrote what the load left:
    that is not CPU a delivery (it read 1.84 ms where a 15 s drain read 0.63)."""
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    result = {**_result([40.0], rss, (0, 86), drained_per_s=107.5, drain_cores=0.2, drain_s=0.8), "minutes": 3,
              "merchants": 50, "webhook_client": "aiohttp", "peak_per_s": None, "target_per_s": 200.0,
              "sent": 36_000, "p50_ms_by_minute": [5.0], "rss_growth_mb": {"api": 0.0, "worker": 0.0},
              "webhook_deliveries": {"succeeded": 126_000}, "processes_alive": {"api": True, "worker": True},
              "ledger_invariant": "holds"}
    result["delivery_rates"]["done_while_loading"] = 699.5
    figures = soak._figures(result)
    assert figures["cpu_ms_per_delivery"] is None
    result["goals"] = report.judge(soak.GOALS, figures)
    lines = soak.render(result).splitlines()
    assert ("  client        aiohttp: kept up nearly: what was left drained in 0.8s, too short to measure CPU a "
            "delivery (under 5s); worst minute's POST p99 40.0 ms") in lines
    assert any(line.startswith("    no data  machine CPU per webhook delivery") for line in lines), lines
    # Five seconds of draining is enough: the figure is given.
    assert soak._figures({**result, "left_after_drain": {**result["left_after_drain"], "drain_s": 5.0}})[
        "cpu_ms_per_delivery"] == 1.86
