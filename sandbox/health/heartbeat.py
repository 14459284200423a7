"""The worker's heartbeat: arq's health key, which every running worker writes every
HEALTH_INTERVAL_S seconds and which lives one second longer. The worker writes it,
`/ready` and `sandbox worker --check` read it, `sandbox up` clears one a killed earlier run
left; it lives here, below all three, so none of them imports another for it."""

from __future__ import annotations

from arq.constants import default_queue_name, health_check_key_suffix

HEALTH_INTERVAL_S = 5
HEALTH_KEY = default_queue_name + health_check_key_suffix
