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
interpreter that imports and builds everything again, so it is handed a fork context.

A process whose command gave it a title (`mypay-sandbox: api`, sandbox/processes/titles.py)
adds the port once it has bound it (`mypay-sandbox: api :8000`); with several processes,
each forked one is `mypay-sandbox: api process N`, N its place among them (a replacement
takes the number of the one it replaces). The bench's reference apps have no title and
get none."""

from __future__ import annotations

import os
import signal

from sandbox.settings import get_settings

# How long a worker process may take to start before the supervisor gives up on it: a
# forked one only connects its pools, but on a busy machine even that has taken seconds.
WORKER_START_S = 60
# How long a request still being answered when the server stops may take to finish before
# uvicorn cancels it. Event streams do not wait for it: they end at once
# (sandbox/health/going_away.py); this bounds the rest (a slow upload, a client that
# stopped reading). With the shutdown steps' own 7 s (shutdown.py) a process is gone within
# `docker stop`'s 10 s whatever its clients do.
GRACE_S = 3
# How long a connection may sit idle between requests before the server closes it. Well
# above what clients' pools keep one for (httpx 5 s, aiohttp 15 s, Node 4-5 s): a server
# that closes first races the client, which sends its next request on a connection already
# closing and gets a read error it cannot safely retry (a POST). uvicorn's own 5 s equals
# httpx's, and a process test creating 500 payouts under load lost one that way. nginx's 75 s.
KEEP_ALIVE_S = 75


def serve(factory: str, port: int, workers: int = 1) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from sandbox.observability import logs
    from sandbox.runtime.start_gate import wait_at_gate

    settings = get_settings()
    # Our log lines from the start, in this process too (with several workers it is the
    # supervisor, whose start/stop lines uvicorn's own config would print as plain text).
    logs.configure(settings.log_format or "json", settings.log_level)
    config = uvicorn.Config(factory, factory=True, host=settings.api_host, port=port, workers=workers,
                            loop="uvloop", http=_protocol(), ws="none", log_level=settings.log_level.lower(),
                            log_config=None, access_log=False, timeout_worker_healthcheck=WORKER_START_S,
                            timeout_graceful_shutdown=GRACE_S, timeout_keep_alive=KEEP_ALIVE_S)
    config.load()  # import and build the app (the app reads the servers' URLs when it starts)
    wait_at_gate()
    part = _titled_part()
    # As `uvicorn.run` ends: a server that never started (its app's startup failed) exits 3.
    try:
        if workers <= 1:
            server = _titled_server(part)(config)
            # uvicorn raises the stop signal again once it has stopped, for whatever handled
            # it before: with none (SIG_DFL) the process would end killed by SIGTERM (143 to
            # `docker stop` and Kubernetes) after a clean stop. A stop asked for is a clean
            # exit; one that comes before uvicorn's own handler is in place stops it too.
            signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
            server.run()
            return 0 if server.started else STARTUP_FAILURE
        return _serve_forked(config, part)
    except KeyboardInterrupt:
        return 0


def _protocol():
    """uvicorn's httptools protocol with the head limit (head_limit.py), which also tells
    the app's event streams that the server is stopping: uvicorn calls each connection's
    `shutdown()` when it begins to stop, and nothing else an app could see (sandbox/health/going_away.py)."""
    from sandbox.health import going_away
    from sandbox.runtime.head_limit import HeadLimitedProtocol

    class ServedProtocol(HeadLimitedProtocol):
        def shutdown(self) -> None:
            going_away.begin()
            super().shutdown()

    return ServedProtocol


def _titled_part() -> str | None:
    """The part this process's title names (set by its command), or None: untitled."""
    from setproctitle import getproctitle

    from sandbox.processes.titles import part_of

    return part_of(getproctitle())


def _titled_server(part: str | None):
    """uvicorn's Server, which adds the port it bound to the process's title."""
    import uvicorn

    if part is None:
        return uvicorn.Server

    class TitledServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.servers and self.servers[0].sockets:
                from sandbox.processes.titles import set_title

                set_title(part, port=self.servers[0].sockets[0].getsockname()[1])

    return TitledServer


def _serve_forked(config, part: str | None) -> int:
    import multiprocessing

    from uvicorn import _subprocess
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # uvicorn starts each process through this context (spawn by default).
    _subprocess.spawn = multiprocessing.get_context("fork")  # pyright: ignore[reportAttributeAccessIssue]
    parent = os.getpid()
    sock = config.bind_socket()
    slot = [0]  # the place the process forked next takes, read in the parent just before the fork
    supervisor = Multiprocess(config, sockets=[sock])
    if part is not None:
        from sandbox.processes.titles import set_title

        set_title(part, port=sock.getsockname()[1])
        os.register_at_fork(before=lambda: slot.__setitem__(0, _next_place(supervisor)))
    os.register_at_fork(after_in_child=lambda: _end_with(parent, part, slot[0]))
    supervisor.run()  # until SIGTERM, or a process that failed to start (the supervisor then stops)
    return STARTUP_FAILURE if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0


def _next_place(supervisor) -> int:
    """1-based: uvicorn replaces a process that died (its exit code known) in its own place
    in `processes`, and appends each first start."""
    for place, process in enumerate(supervisor.processes, start=1):
        if process.exitcode is not None:
            return place
    return len(supervisor.processes) + 1


def _end_with(parent: int, part: str | None = None, place: int = 0) -> None:
    """In a forked API process: die with the process that forked it. Killed alone (kill -9,
    the OOM killer), the supervisor would leave its processes serving on the port, and the
    one `sandbox up` starts in its place could not bind it.

    And hear a stop signal as a new process would: the fork copied the supervisor's
    handlers, which only queue a signal for the supervisor's own loop, so a SIGTERM that
    came before uvicorn's server put in its own (`sandbox up` stopping just after the
    start) was queued where nothing reads it, and the process served on while its
    supervisor waited for it for ever.

    And say which it is: `mypay-sandbox: api process <place>` (`part` None: untitled)."""
    from uvicorn.supervisors.multiprocess import SIGNALS

    from sandbox.runtime.embedded import _die_with_parent

    for sig in SIGNALS:
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    _die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)
    if part is not None:
        from sandbox.processes.titles import set_title

        set_title(part, process=place)
