"""The merchants' webhook receiver for `sandbox bench --soak`, as its own process (in the
load generator's process it would take the GIL from the load): answers every request,
once its body is read, with 200 and an empty body, and keeps the connection.

    python -m sandbox.bench.servers.receiver PORT

It stands for the merchants' servers, which a real deployment runs on other machines, yet
here it shares the bench's cores with the sandbox: so it is the least an HTTP server can
be, a bare ASGI callable on uvicorn with uvloop and httptools (about 20 µs of CPU a
request, against 115 µs for the standard library's threading server it replaces, 5-second
runs of wrk at each on this machine). Idle connections are kept as long as the sandbox's
client pool keeps them, as that server did: a receiver closing one would fail the next
delivery sent on it, which is the sandbox's to survive but not this bench's to measure.
So uvicorn is run here directly, not through `sandbox.runtime.serving.serve`, whose
keep-alive is uvicorn's 5 s and which loads the sandbox's settings and logging."""

from __future__ import annotations

import sys

_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_END = {"type": "http.response.body", "body": b""}


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(_START)
    await send(_END)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", lifespan="off",
                ws="none", access_log=False, log_level="warning", timeout_keep_alive=3600, server_header=False,
                date_header=False)
