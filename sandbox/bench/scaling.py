"""`sandbox bench`'s scaling phase: the same POST /payouts (spread) and GET /payouts/{id}
against one API process and then against `SCALED` processes behind the same port (what
`sandbox up` runs by default on this machine: sandbox/runtime/serving.py), each after a short
warm-up, so the two runs' ratio says what the extra processes bring. On a machine whose
cores PostgreSQL, Redis and wrk share with the API, it is less than the number of
processes."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.bench.harness.load import Load, wrk
from sandbox.bench.harness.procs import say, spawn, stop, wait_api
from sandbox.bench.harness.stack import Stack

SCALED = 2  # the API processes compared with one (the goal: each figure >= 1.3 x one process's)


def _run(stack: Stack, workers: int, post_url: str, spread_file: Path, paths_file: Path, tag: str, *,
         duration: float, connections: int, threads: int) -> dict[str, Load]:
    log = stack.logs / f"api-{workers}.log"
    api = spawn([sys.executable, "-m", "sandbox.cli", "api"], {**stack.env, "SANDBOX_API_WORKERS": str(workers)},
                log)
    stack.procs.append(api)
    try:
        wait_api(stack.api_url, api, log)
        warmup = min(2.0, duration)
        found = {}
        say(f"scaling: {workers} API process(es), POST /payouts spread")
        wrk(post_url, "post_payouts.lua", [str(spread_file), f"{tag}{workers}w"], duration=warmup,
            connections=connections, threads=threads)
        found["post"] = wrk(post_url, "post_payouts.lua", [str(spread_file), f"{tag}{workers}"], duration=duration,
                            connections=connections, threads=threads)
        say(f"scaling: {workers} API process(es), GET /payouts/{{id}}")
        get_url = stack.api_url + "/api/v1/payouts"
        wrk(get_url, "get_paths.lua", [str(paths_file)], duration=warmup, connections=connections, threads=threads)
        found["get"] = wrk(get_url, "get_paths.lua", [str(paths_file)], duration=duration, connections=connections,
                           threads=threads)
        return found
    finally:
        stop(api)


def scaling_phase(stack: Stack, post_url: str, spread_file: Path, paths_file: Path, tag: str, *,
                  duration: float, connections: int, threads: int) -> dict:
    """One process, then SCALED: their POST and GET rates and the ratios (the API port must
    be free: the caller's API process is stopped first)."""
    runs = {workers: _run(stack, workers, post_url, spread_file, paths_file, f"{tag}x", duration=duration,
                          connections=connections, threads=threads)
            for workers in (1, SCALED)}
    one, scaled = runs[1], runs[SCALED]

    def ratio(a: Load, b: Load) -> float | None:
        return round(a.ok_per_s / b.ok_per_s, 3) if b.ok_per_s else None

    return {"processes": SCALED,
            "post_1": one["post"].as_dict(), "get_1": one["get"].as_dict(),
            f"post_{SCALED}": scaled["post"].as_dict(), f"get_{SCALED}": scaled["get"].as_dict(),
            "post_ratio": ratio(scaled["post"], one["post"]), "get_ratio": ratio(scaled["get"], one["get"])}
