"""The worker's heartbeat: arq's health key, which every running worker writes every
`interval_s()` seconds (SANDBOX_WORKER_HEARTBEAT_S, 5 by default) and which lives `ttl_s()`.
The worker writes it, `/ready` and `sandbox worker --check` read it, `sandbox up` clears one
a killed earlier run left; it lives here, below all three, so none of them imports another
for it."""

from __future__ import annotations

from arq.constants import default_queue_name, health_check_key_suffix

from sandbox.settings import get_settings

HEALTH_KEY = default_queue_name + health_check_key_suffix
# Why the worker's PostgreSQL server processes stay at their priority while the worker
# runs niced (sandbox/runtime/backend_nice.py), as the worker found at its start; absent
# when they run at its niceness. `sandbox status` shows it.
PRIORITY_KEY = "sandbox:worker:priority"
TTL_INTERVALS = 3


def interval_s() -> float:
    """How often a worker writes the key."""
    return get_settings().worker_heartbeat_s


def ttl_s() -> float:
    """How long a write keeps the key: arq's own is the interval plus one second, and it
    writes only when a poll finds the interval passed, so a worker whose loop ran a second
    late (two cores busy: a `/ready` of the guides' under stress-ng, 28 Nov) read as down for
    a moment. Three intervals: a late write, even two, keeps it; a worker killed outright is
    seen gone within this long (one stopping cleanly deletes the key at once)."""
    return TTL_INTERVALS * interval_s()
