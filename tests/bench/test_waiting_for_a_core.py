"""The soak's "waiting for a core" line: how long each kind of process was ready to run
but had no core, read from Linux's own counters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from sandbox.bench import soak
from sandbox.bench.harness import cpu, report

# Burns 0.6 s of its own CPU time, however long the machine makes it wait for it, and
# says how long it waited for a core meanwhile.
_BUSY = """
import os, time
from sandbox.bench.harness.cpu import run_delay
start, t = run_delay(os.getpid()), time.process_time
end = t() + 0.6
while t() < end:
    pass
print(run_delay(os.getpid()) - start)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux's /proc tells the run queue's delay")
def test_more_busy_processes_than_cores_wait_for_one() -> None:
    """One process more than the machine has cores, each wanting 0.6 s of CPU: together
    they wait at least that long for a core (0.6 s x (N+1)/N), whatever else runs."""
    busy = [subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.PIPE, text=True)
            for _ in range((os.cpu_count() or 1) + 1)]
    waits = [float(p.communicate(timeout=60)[0]) for p in busy]
    assert sum(waits) >= 0.3, waits
    assert cpu.run_delay(busy[0].pid) is None  # gone: nothing to say


def _reading(at: float, waited: dict[int, float], stalled: float | None) -> cpu.Reading:
    kinds = {1: "api", 2: "api", 3: "postgres", 4: "worker"}
    return cpu.Reading(at=at, machine=0.0, by_pid={pid: (kinds[pid], 0.0) for pid in waited}, reaped={},
                       bench=0.0, waited=waited, stalled=stalled)


def test_waiting_is_threads_waiting_on_average_by_kind_and_the_share_of_time_some_task_waited() -> None:
    # Over 10 s: the two API processes waited 6 and 4 s, PostgreSQL 12 s, the worker 3 s but
    # only seen at the end (a process that came meanwhile is left out); some task waited 9.5 s.
    before = _reading(100.0, {1: 1.0, 2: 2.0, 3: 5.0}, stalled=50.0)
    after = _reading(110.0, {1: 7.0, 2: 6.0, 3: 17.0, 4: 3.0}, stalled=59.5)
    assert cpu.waiting(before, after) == {"postgres": 1.2, "api": 1.0, "stalled": 0.95}
    assert (cpu.render_waiting(cpu.waiting(before, after))
            == "postgres 1.20, api 1.00; some task waiting 95% of the time")
    # Where Linux does not say: no figure at all, not zeros.
    assert cpu.waiting(_reading(0.0, {}, None), _reading(1.0, {}, None)) == {}
    no_pressure = cpu.waiting(_reading(0.0, {1: 0.0}, None), _reading(2.0, {1: 1.0}, None))
    assert no_pressure == {"api": 0.5} and cpu.render_waiting(no_pressure) == "api 0.50"


def test_the_soak_report_puts_the_waits_under_the_cores_busy() -> None:
    rss = {"start": {"api": 100.0, "worker": 60.0}, "end": {"api": 100.0, "worker": 60.0}}
    result = {"achieved_per_s": 300.0, "errors": 0, "p99_ms_by_minute": [180.0], "rss_mb": rss, "minutes": 1,
              "merchants": 50, "webhook_client": "aiohttp", "peak_per_s": None, "target_per_s": 300.0,
              "sent": 18_000, "p50_ms_by_minute": [15.0], "rss_growth_mb": {"api": 0.0, "worker": 0.0},
              "webhook_deliveries": {"succeeded": 63_000}, "processes_alive": {"api": True},
              "ledger_invariant": "holds",
              "delivery_rates": {"made_while_loading": 1_050.0, "done_while_loading": 1_050.0,
                                 "done_while_draining": None},
              "behind_at_end": {"payouts_unsettled": 0, "deliveries_pending": 0},
              "left_after_drain": {"payouts_unsettled": 0, "deliveries_pending": 0, "drain_s": 0.0},
              "cpu_cores": {"load": {"postgres": 0.73, "api": 0.47, "machine": 1.97}},
              "waiting_for_a_core": {"load": {"postgres": 1.16, "api": 0.97, "stalled": 0.96}}}
    result["goals"] = report.judge(soak.GOALS, soak._figures(result))
    lines = soak.render(result).splitlines()
    busy = lines.index(f"  CPU (load)    cores busy: postgres 0.73, api 0.47; machine 1.97 of {psutil.cpu_count()}")
    assert lines[busy + 1] == "  wait (load)   for a core: postgres 1.16, api 0.97; some task waiting 96% of the time"
