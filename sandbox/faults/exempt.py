"""The routes no fault ever strikes, as a proxy's own admin API is not subject to the
faults it injects: the fault controls themselves (a catch-all rule must not hide or lock
in the rule that locks the merchant out), the request log, coverage, and the receiver
audit and the verdict a CI gate runs and reads. A rule may still name them (`/` matches every route):
these routes simply pass it by, and spend none of its uses."""

from __future__ import annotations

from functools import lru_cache

from sandbox.faults.store import API_PREFIX

# Route templates below /api/v1, each with every route below it (whole segments).
EXEMPT = (
    "/sandbox/faults",
    "/sandbox/requests",
    "/sandbox/requests.har",
    "/sandbox/coverage",
    "/sandbox/gate",
    "/webhook-endpoints/{endpoint_id}/audit",
    "/webhook-endpoints/{endpoint_id}/audits",
)
_EXEMPT = tuple(API_PREFIX + route for route in EXEMPT)


@lru_cache(maxsize=1024)  # route templates are few: a lookup per request, not a scan of EXEMPT
def exempt(route: str) -> bool:
    """Whether the route template a request matched is never faulted."""
    return any(route == e or route.startswith(e + "/") for e in _EXEMPT)
