"""The plugin's environment. The plugin runs in the integrator's test process, not in the
sandbox, so it has MYPAY_* variables of its own (read, like every variable, in
sandbox/settings.py)."""

from __future__ import annotations

from sandbox.settings import child_env

# Server settings a parent shell may have set for its own sandbox; an embedded sandbox
# started by the plugin gets its own instead, so it never shares another one's servers.
_OWNED_BY_EMBEDDED = ("SANDBOX_DATABASE_URL", "SANDBOX_REDIS_URL", "SANDBOX_DATA_DIR", "SANDBOX_API_PORT",
                      "SANDBOX_IPN_PORT", "SANDBOX_IPN_URL", "SANDBOX_ADMIN_KEY", "SANDBOX_HOST")


def embedded_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment of an embedded `sandbox up`: this process' own, minus the server
    settings it must own, plus `overrides`. Simulated time is instant unless
    SANDBOX_TIME_SCALE says otherwise."""
    env = child_env(_OWNED_BY_EMBEDDED, {})
    env.setdefault("SANDBOX_TIME_SCALE", "0")
    env.update(overrides)
    return env
