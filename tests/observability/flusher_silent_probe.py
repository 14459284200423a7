"""The metrics flusher's stop against a Redis that accepts and never answers, in a process
of its own: the histograms are the process's, and a test process that serves the API (the
suite's stack) runs its own flusher, which could take the observations first or hang on the
same patched client. Prints one JSON line: how long the stop took, what it logged, and
whether the observations were kept after it said it dropped them.

    python -m tests.observability.flusher_silent_probe"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from unittest import mock

from redis.asyncio import Redis

from sandbox import redis_client
from sandbox.observability import metrics


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def main() -> dict:
    said = _Said()
    metrics.log.addHandler(said)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers: a frozen Redis
    client = Redis(host="127.0.0.1", port=silent.getsockname()[1])
    route = f"/stop-redis-silent-{time.time_ns()}"
    try:
        with mock.patch.object(redis_client, "get", lambda: client):
            flusher = metrics.Flusher(60)
            flusher.start()
            for _ in range(3):
                metrics.HTTP.observe((route, "POST", "2xx"), 0.01)
            started = time.monotonic()
            await flusher.stop()
            took = time.monotonic() - started
    finally:
        await client.aclose()
        silent.close()
    kept = any(route in "|".join(labels) for labels in metrics.HTTP.take())
    return {"took": took, "said": said.lines, "kept": kept}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
