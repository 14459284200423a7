"""The bare Litestar app `sandbox bench` compares GET /payouts/{id} with: one JSON
route, no middleware, no database, served by `sandbox.runtime.serving.serve` exactly as the API is.

    python -m sandbox.bench.servers.hello PORT"""

from __future__ import annotations

import sys

from litestar import Litestar, get

from sandbox.core import heap


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_app() -> Litestar:
    app = Litestar(route_handlers=[hello], debug=False)
    heap.freeze_startup_objects()  # as the API's served app does: the same process set-up
    return app


def main(port: int) -> int:
    from sandbox.runtime.serving import serve
    from sandbox.settings import get_settings

    return serve("sandbox.bench.servers.hello:create_app", port, get_settings().api_workers)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
