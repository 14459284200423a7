"""Serving an ASGI app the one way every HTTP process here is served: uvicorn on uvloop
and httptools (with a limit on the size of a request's headers: sandbox/head_limit.py),
our JSON logs from the first line, no access log (the app logs each request itself).
`sandbox api`, `sandbox ipn` and the bench's reference apps use it, so a benchmark
compares like with like."""

from __future__ import annotations

from sandbox.settings import get_settings

# How long a worker process may take to start (import the app) before the supervisor
# gives up on it.
WORKER_START_S = 60


def serve(factory: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from sandbox.head_limit import HeadLimitedProtocol
    from sandbox.observability import logs
    from sandbox.start_gate import wait_at_gate

    # Started by `sandbox up` before its servers: the app is imported meanwhile.
    wait_at_gate(factory.split(":")[0])
    settings = get_settings()
    # Our log lines from the start, in this process too (with several workers it is the
    # supervisor, whose start/stop lines uvicorn's own config would print as plain text).
    logs.configure(settings.log_format or "json", settings.log_level)
    # With several workers, uvicorn's supervisor kills a child that has not answered its
    # health ping within `timeout_worker_healthcheck` (5 s by default) and starts another:
    # on a busy machine a child still importing the app was killed and replaced forever.
    uvicorn.run(factory, factory=True, host=settings.api_host, port=port, workers=workers, loop="uvloop",
                http=HeadLimitedProtocol, log_level=settings.log_level.lower(), log_config=None, access_log=False,
                timeout_worker_healthcheck=WORKER_START_S)
    return 0
