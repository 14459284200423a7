"""The secret the simulated rail signs its callbacks with: `SANDBOX_RAIL_SECRET`, or one
made once and kept in the data dir, so every process on one machine agrees."""

from __future__ import annotations

import os
import secrets
from functools import cache

from sandbox.settings import get_settings


@cache
def rail_secret() -> str:
    settings = get_settings()
    if settings.rail_secret:
        return settings.rail_secret
    path = settings.data_dir / "rail-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = "rail_" + secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value
