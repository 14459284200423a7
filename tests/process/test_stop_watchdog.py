"""A worker that does not end after its stop signal says where it is and ends itself
(worker/main.py, `_stopping_process`): rather than run on until something kills it with
no word in its log on where it hung."""

from __future__ import annotations

import subprocess
import sys

from tests.process.conftest import REPO

# A worker's stop as `sandbox worker` makes it at SIGTERM, then a job that never ends (its
# own thread's stack shows where), with the watchdog shortened to a second.
_HUNG_STOP = """
import asyncio, time
from worker import main
main.STOP_WATCHDOG_S = 1.0
main._stopping_process({"stopping": asyncio.Event()})

def a_job_that_never_ends():
    time.sleep(60)

a_job_that_never_ends()
"""


def test_a_stop_that_hangs_ends_with_every_stack_in_the_log():
    done = subprocess.run([sys.executable, "-c", _HUNG_STOP], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done
    assert "Timeout (0:00:01)!" in done.stderr, done.stderr
    assert "a_job_that_never_ends" in done.stderr, done.stderr
