"""How many test processes `uv run pytest` starts (pyproject.toml asks pytest-xdist for
`-n auto`). Here, at the top of the repository, rather than in tests/: a test file a
contributor runs from the top (`uv run pytest test_my_retries.py`, as docs/testing-your-retries.md
shows) is judged by it too."""

from __future__ import annotations

import os

# No key or secret in any log line a run writes: checked at its end (tests/log_scan.py).
pytest_plugins = ["tests.log_scan"]


def pytest_xdist_auto_num_workers(config) -> int:
    """One test process more than the cores, at most four. A test process waits about a
    quarter of its time on real time (a server starting, a timeout running out, a receiver
    answering): two processes kept two cores 73 % busy, and a third ran the whole
    suite in 7 min 13 s where two took 8 min 9 s to 8 min 28 s (29 Nov, docs/contributing.md).
    Each starts its own embedded PostgreSQL and Redis, and the process-level tests start
    more: past four, a bigger machine gains little and a laptop slows to a crawl. One core
    runs one. None for one file (`pytest tests/x.py`, or tests of it):
    `loadfile` would give it all to one process anyway, and in this one its first test
    starts seconds sooner, and a plugin's verdict at the session's end (the safe-retries
    check's exit status) is this process's own."""
    files = {arg.split("::", 1)[0] for arg in config.args}
    if len(files) == 1 and next(iter(files)).endswith(".py"):
        return 0
    cores = os.cpu_count() or 1
    return 1 if cores == 1 else min(cores + 1, 4)
