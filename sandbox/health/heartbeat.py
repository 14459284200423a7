"""The worker's heartbeat: arq's health key, which every running worker writes every
HEALTH_INTERVAL_S seconds and which lives HEALTH_TTL_S. The worker writes it,
`/ready` and `sandbox worker --check` read it, `sandbox up` clears one a killed earlier run
left; it lives here, below all three, so none of them imports another for it."""

from __future__ import annotations

from arq.constants import default_queue_name, health_check_key_suffix

HEALTH_INTERVAL_S = 5
HEALTH_KEY = default_queue_name + health_check_key_suffix
# How long a write keeps the key: arq's own is the interval plus one second, and it writes
# only when a poll finds the interval passed, so a worker whose loop ran a second late (two
# cores busy: a `/ready` of the guides' under stress-ng, 28 Nov) read as down for a moment.
# Three intervals: a late write, even two, keeps it; a worker killed outright is seen
# gone within this long (one stopping cleanly deletes the key at once).
HEALTH_TTL_S = 3 * HEALTH_INTERVAL_S
