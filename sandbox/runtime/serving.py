"""Serving an ASGI app the one way every HTTP process here is served: uvicorn on uvloop
and httptools (with a limit on the size of a request's headers: sandbox/runtime/head_limit.py),
our JSON logs from the first line, no access log (the app logs each request itself), no
WebSocket protocol (no route is one; loading it was 20 ms of each server's start).
`sandbox api`, `sandbox ipn` and the bench's reference apps use it, so a benchmark
compares like with like.

The app is imported and built before anything else, once: started by `sandbox up`, while
it starts the servers (sandbox/runtime/start_gate.py); with several processes, before they are
forked from this one, so each starts serving at once and shares the built app's memory
until it writes to it. uvicorn's own supervisor keeps them (restarts one that dies or
stops answering, stops them on SIGTERM); it would start each by spawning a new
interpreter that imports and builds everything again, so it is handed a fork context."""

from __future__ import annotations

import os
import signal

from sandbox.settings import get_settings

# How long a worker process may take to start before the supervisor gives up on it: a
# forked one only connects its pools, but on a busy machine even that has taken seconds.
WORKER_START_S = 60


def serve(factory: str, port: int, workers: int = 1) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from sandbox.observability import logs
    from sandbox.runtime.head_limit import HeadLimitedProtocol
    from sandbox.runtime.start_gate import wait_at_gate

    settings = get_settings()
    # Our log lines from the start, in this process too (with several workers it is the
    # supervisor, whose start/stop lines uvicorn's own config would print as plain text).
    logs.configure(settings.log_format or "json", settings.log_level)
    config = uvicorn.Config(factory, factory=True, host=settings.api_host, port=port, workers=workers,
                            loop="uvloop", http=HeadLimitedProtocol, ws="none", log_level=settings.log_level.lower(),
                            log_config=None, access_log=False, timeout_worker_healthcheck=WORKER_START_S)
    config.load()  # import and build the app (the app reads the servers' URLs when it starts)
    wait_at_gate()
    # As `uvicorn.run` ends: a server that never started (its app's startup failed) exits 3.
    try:
        if workers <= 1:
            server = uvicorn.Server(config)
            server.run()
            return 0 if server.started else STARTUP_FAILURE
        return _serve_forked(config)
    except KeyboardInterrupt:
        return 0


def _serve_forked(config) -> int:
    import multiprocessing

    from uvicorn import _subprocess
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # uvicorn starts each process through this context (spawn by default).
    _subprocess.spawn = multiprocessing.get_context("fork")  # pyright: ignore[reportAttributeAccessIssue]
    parent = os.getpid()
    os.register_at_fork(after_in_child=lambda: _end_with(parent))
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()  # until SIGTERM, or a process that failed to start (the supervisor then stops)
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0


def _end_with(parent: int) -> None:
    """In a forked API process: die with the process that forked it. Killed alone (kill -9,
    the OOM killer), the supervisor would leave its processes serving on the port, and the
    one `sandbox up` starts in its place could not bind it.

    And hear a stop signal as a new process would: the fork copied the supervisor's
    handlers, which only queue a signal for the supervisor's own loop, so a SIGTERM that
    came before uvicorn's server put in its own (`sandbox up` stopping just after the
    start) was queued where nothing reads it, and the process served on while its
    supervisor waited for it for ever."""
    from uvicorn.supervisors.multiprocess import SIGNALS

    from sandbox.runtime.embedded import _die_with_parent

    for sig in SIGNALS:
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    _die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)
