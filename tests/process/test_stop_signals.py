"""A process told to stop while it is still starting stops: `sandbox up` stopped (or
killed) just after it said ready, `docker stop` just after the start. Each case runs in a
process of its own, the signal sent at the moment it used to be lost; the old code ran on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.process.conftest import REPO

DEADLINE_S = 30  # the old code never ended: a signal lost is a timeout here


def run_script(source: str, **env: str) -> subprocess.CompletedProcess:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    child_env.update(env)
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(source)], cwd=REPO, env=child_env,
                              capture_output=True, text=True, timeout=DEADLINE_S)
    except subprocess.TimeoutExpired as exc:
        # The partial output comes as bytes whatever `text` says; its end is what matters.
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        raise AssertionError(f"still running {DEADLINE_S} s after the signal; its stderr ends:\n"
                             f"{stderr[-3000:]}") from None


def test_a_worker_signalled_before_its_loop_runs_ends(servers):
    """arq adds its handlers to the loop when the worker is built; uvloop drops a signal
    that comes while its loop is not running (here: between `build_worker` and `run`,
    where `sandbox worker` collects its start-up garbage)."""
    database_url, redis_url = servers
    done = run_script("""
        import asyncio, os, signal
        import uvloop
        import sandbox.piccolo_conf
        from worker.main import build_worker

        asyncio.set_event_loop(uvloop.new_event_loop())
        worker = build_worker()
        os.kill(os.getpid(), signal.SIGTERM)
        worker.run()
        print("worker.run returned")
    """, SANDBOX_DATABASE_URL=database_url, SANDBOX_REDIS_URL=redis_url)
    assert done.returncode == -signal.SIGTERM, (done.returncode, done.stdout, done.stderr)


def test_a_worker_signalled_once_its_loop_runs_stops_cleanly(servers):
    """The handlers are there once the loop runs: the stop is arq's clean one (`run`
    returns). A worker of its own queue, so it takes none of the suite's jobs."""
    _, redis_url = servers
    done = run_script("""
        import asyncio, os, signal
        import uvloop
        from sandbox import redis_client
        from worker.resilient import ResilientWorker

        async def signal_myself(ctx):
            os.kill(os.getpid(), signal.SIGTERM)

        async def nothing(ctx):
            pass

        asyncio.set_event_loop(uvloop.new_event_loop())
        worker = ResilientWorker(functions=[nothing], queue_name="test-stop-signals", on_startup=signal_myself,
                                 redis_settings=redis_client.redis_settings(os.environ["REDIS_URL"]))
        worker.run()
        print("worker.run returned")
    """, REDIS_URL=redis_url)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "worker.run returned" in done.stdout


def test_a_forked_api_process_signalled_before_its_server_starts_ends():
    """uvicorn's supervisor queues signals for its own loop; a process forked from it
    (sandbox/runtime/serving.py) starts with those handlers until its server installs its
    own."""
    done = run_script("""
        import os, signal, time
        from sandbox.runtime.serving import _end_with

        queued = []
        signal.signal(signal.SIGTERM, lambda sig, frame: queued.append(sig))  # as the supervisor does
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _end_with(parent)  # what the fork hook runs
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the server's start, as far as the signal is concerned
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("signalled", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["signalled", str(int(signal.SIGTERM))], done.stdout
