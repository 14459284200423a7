"""The server's own secret: SANDBOX_SESSION_SECRET, or a random one made once per data dir
and kept there (0600), so every process of one sandbox agrees. Keys for each use are
derived from it (the dashboard's session cookie, the idempotency store's sealed keys, the
tags that bind a listener's request ids to their endpoint), never used as they are."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cache

from sandbox.settings import get_settings


@cache
def server_secret() -> bytes:
    settings = get_settings()
    if settings.session_secret:
        return settings.session_secret.encode()
    path = settings.data_dir / "session-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write("sess_" + secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def derived(label: bytes) -> bytes:
    """The key for one use, named by `label`: HMAC-SHA256 of the label under the server
    secret (one label, one key; a key of one use opens nothing of another's)."""
    return hmac.new(server_secret(), label, hashlib.sha256).digest()
