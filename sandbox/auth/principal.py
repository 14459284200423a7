"""Who a request acts as, once its key is checked: what the key cache holds and every
controller is given. It imports nothing of the key checks or the cache, which both use it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: str  # "merchant" | "admin"
    merchant_id: str | None
    # The merchant's own rate limit (admin override), read with the key: the rate limiter
    # needs it on every request, and this way it costs no round trip and is never stale.
    rate_limit_per_minute: int | None = None
    # Whether the merchant has a fault rule with uses left (sandbox/faults/): read with the
    # key, so a merchant without rules pays no query for them; rule changes reach the key
    # cache as key changes do.
    fault_rules: bool = False
    # Whether the merchant has scenarios of its own (sandbox/scenarios/): read the same way,
    # so POST /payouts of a merchant without any asks no query for them.
    custom_scenarios: bool = False
    # The merchant's webhook endpoints' signing keys (current and previous), read the same
    # way: the request log hides them by value (requests/redaction.py) with no query of its
    # own. Never in a repr, so never in a log line.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # The team the key acts for (sandbox/teams/): a merchant key's merchant's team, a team
    # key's team, None for the operator's admin key (every team).
    team_id: str | None = None
    # That team's bound on payouts a day (None: none), read with the key so that POST
    # /payouts asks no query for it (sandbox/teams/quotas.py).
    payouts_per_day: int | None = None
    # When a rolled key stops working (POSIX seconds), None: until revoked. The key cache
    # forgets an entry at that moment by itself, with no change to notify (rotation/rolling.py).
    expires_at: float | None = None

    @property
    def operator(self) -> bool:
        """The operator's admin key: it acts on every team's merchants and makes team keys."""
        return self.role == "admin" and self.team_id is None

    @property
    def idempotency_scope(self) -> str:
        return self.merchant_id or admin_scope(self.key_id)


def admin_scope(key_id: str) -> str:
    """The idempotency scope of an admin (or team) key's own requests."""
    return f"admin:{key_id}"
