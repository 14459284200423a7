"""The soak's figures from its counts: what a report says when the worker did not keep up."""

from __future__ import annotations

from sandbox.bench import report, soak


def test_a_drain_that_timed_out_counts_only_what_it_finished() -> None:
    # 1,000 made while loading (600 done), 400 left; in the 10 s the drain lasted 150 more.
    rates = soak._delivery_rates({"succeeded": 0}, {"succeeded": 600, "pending": 400},
                                 {"succeeded": 750, "pending": 250}, load_s=10.0, drain_s=10.0)
    assert rates == {"made_while_loading": 100.0, "done_while_loading": 60.0, "done_while_draining": 15.0}
    nothing_left = soak._delivery_rates({}, {"succeeded": 5}, {"succeeded": 5}, load_s=1.0, drain_s=0.0)
    assert nothing_left["done_while_draining"] is None


def _result(p99s: list[float], rss: dict, behind: tuple[int, int]) -> dict:
    return {"achieved_per_s": 200.0, "errors": 0, "p99_ms_by_minute": p99s, "rss_mb": rss,
            "delivery_rates": {"made_while_loading": 700.0},
            "behind_at_end": {"payouts_unsettled": behind[0], "deliveries_pending": behind[1]}}


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
