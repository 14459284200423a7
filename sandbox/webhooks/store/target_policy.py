"""Whether this sandbox refuses webhook targets inside the network now, and why in words
(the policy itself is `sandbox/guards/addresses.py`). SANDBOX_WEBHOOK_BLOCK_PRIVATE decides:

- `true` / `false`: always / never, whatever else;
- `auto` (the default): when the sandbox is shared, that is when the API is bound beyond
  loopback (SANDBOX_HOST) or the operator has made a team; a local `sandbox up` on
  127.0.0.1 calls receivers on localhost, its user's normal case;
- `teams`: when a team is made only (the image sets it: its 0.0.0.0 is inside its own
  network namespace, and who reaches it is the `-p` its user chose).

Whether a team is made is read from the database: at every registration, and in the
worker at most every TEAMS_MAX_AGE_S (a delivery must not pay a query)."""

from __future__ import annotations

import contextvars
import time
from functools import lru_cache

from sandbox import db
from sandbox.guards import addresses as ssrf
from sandbox.settings import WebhookTargets, webhook_targets
from sandbox.teams.scope import OPERATOR_TEAM

TEAMS_MAX_AGE_S = 5.0
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

# The host of the URL a delivery client is connecting for: the socket it opens sees only
# an address, and SANDBOX_WEBHOOK_ALLOW may name the host.
DIALLING: contextvars.ContextVar[str | None] = contextvars.ContextVar("webhook_dialling", default=None)

_teams_made: bool | None = None
_teams_read_at = float("-inf")


def bound_beyond_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return False
    address = ssrf.host_address(host)
    return address is None or not address.is_loopback


@lru_cache(maxsize=64)
def decide(targets: WebhookTargets, teams_made: bool | None) -> ssrf.Policy:
    """The policy these settings and this knowledge of teams make (None: not read yet,
    taken as no team)."""
    mode = targets.block_private
    allow = ssrf.allow_list(targets.allow)
    switch = ssrf.SWITCH_SETTING
    if mode in ("true", "false"):
        return ssrf.Policy(mode == "true", f"{switch}={mode}", allow)
    if mode == "auto" and bound_beyond_loopback(targets.api_host):
        return ssrf.Policy(True, f"the sandbox is shared: the API is bound to {targets.api_host} (SANDBOX_HOST); "
                                 f"{switch}=false turns this off", allow)
    if teams_made:
        return ssrf.Policy(True, f"the sandbox is shared: teams are made; {switch}=false turns this off", allow)
    return ssrf.Policy(False, f"{switch}={mode} and the sandbox is not shared", allow)


def _needs_teams(targets: WebhookTargets) -> bool:
    return targets.block_private == "teams" or (
        targets.block_private == "auto" and not bound_beyond_loopback(targets.api_host))


async def _read_teams() -> bool:
    global _teams_made, _teams_read_at
    _teams_made = bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM team WHERE id <> $1)", OPERATOR_TEAM))
    _teams_read_at = time.monotonic()
    return _teams_made


async def policy(*, fresh: bool = False) -> ssrf.Policy:
    """The policy now; `fresh` reads the teams from the database whatever was known
    (a registration), else a reading at most TEAMS_MAX_AGE_S old is used."""
    targets = webhook_targets()
    teams = _teams_made
    if _needs_teams(targets) and (fresh or time.monotonic() - _teams_read_at > TEAMS_MAX_AGE_S):
        teams = await _read_teams()
    return decide(targets, teams)


async def keep_fresh() -> None:
    """Read the teams again if the last reading is stale. A delivery's attempt calls this
    before it sends (an audit before each case), so that `known()` (for a socket being
    opened or a request being written, which cannot wait on a query) is at most
    TEAMS_MAX_AGE_S old, and a lost database fails before anything is sent. A clock
    comparison when it is fresh."""
    if time.monotonic() - _teams_read_at > TEAMS_MAX_AGE_S and _needs_teams(webhook_targets()):
        await _read_teams()


def known() -> ssrf.Policy:
    """The policy by the settings now and the last reading of the teams (a few µs)."""
    return decide(webhook_targets(), _teams_made)


def refusal(host: str, address: ssrf.Address) -> str | None:
    """Why a request for `host` may not go to `address` now (None: it may)."""
    return ssrf.refusal(known(), host, address)
