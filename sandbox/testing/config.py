"""The plugin's environment, read here and nowhere else in sandbox/testing/. The plugin
runs in the integrator's test process, not in the sandbox, so it reads its own
MYPAY_* variables rather than the server's settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

# Server settings a parent shell may have set for its own sandbox; an embedded sandbox
# started by the plugin gets its own instead, so it never shares another one's servers.
_OWNED_BY_EMBEDDED = ("SANDBOX_DATABASE_URL", "SANDBOX_REDIS_URL", "SANDBOX_DATA_DIR", "SANDBOX_API_PORT",
                      "SANDBOX_IPN_PORT", "SANDBOX_IPN_URL", "SANDBOX_ADMIN_KEY", "SANDBOX_HOST")


@dataclass(frozen=True)
class PluginEnv:
    sandbox_url: str | None  # MYPAY_SANDBOX_URL: use this running sandbox
    admin_key: str | None  # MYPAY_ADMIN_KEY: its admin key (needed to make merchants)
    webhook_host: str | None  # MYPAY_WEBHOOK_HOST: how that sandbox reaches this machine


def read() -> PluginEnv:
    return PluginEnv(
        sandbox_url=os.environ.get("MYPAY_SANDBOX_URL") or None,
        admin_key=os.environ.get("MYPAY_ADMIN_KEY") or None,
        webhook_host=os.environ.get("MYPAY_WEBHOOK_HOST") or None,
    )


def embedded_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment of an embedded `sandbox up`: this process' own, minus the server
    settings it must own, plus `overrides`. Simulated time is instant unless
    SANDBOX_TIME_SCALE says otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in _OWNED_BY_EMBEDDED}
    env.setdefault("SANDBOX_TIME_SCALE", "0")
    env.update(overrides)
    return env
