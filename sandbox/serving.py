"""Serving an ASGI app the one way every HTTP process here is served: uvicorn on uvloop
and httptools, our JSON logs from the first line, no access log (the app logs each
request itself). `sandbox api`, `sandbox ipn` and the bench's reference apps use it, so
a benchmark compares like with like."""

from __future__ import annotations

from sandbox.settings import get_settings


def serve(factory: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from sandbox.observability import logs

    settings = get_settings()
    # Our log lines from the start, in this process too (with several workers it is the
    # supervisor, whose start/stop lines uvicorn's own config would print as plain text).
    logs.configure(settings.log_format or "json", settings.log_level)
    uvicorn.run(factory, factory=True, host=settings.api_host, port=port, workers=workers, loop="uvloop",
                http="httptools", log_level=settings.log_level.lower(), log_config=None, access_log=False)
    return 0
