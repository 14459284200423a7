"""The kinds of fault, and when each strikes.

Before anything happens (nothing is counted, claimed or written): `unavailable` (503 with
Retry-After), `rate_limited` (429 with Retry-After), `slow` (the true answer, after
`delay_s`). After the request's effect is committed (its idempotency key holds the true
answer, so a retry with the same key gets it): `response_lost` (the connection closes
with no response at all), `timeout` (the true answer held `delay_s`, default 30 s, longer
than a sane client waits) and `error_after_commit` (a 500 problem instead of the true
answer)."""

from __future__ import annotations

from typing import Literal, get_args

BeforeKind = Literal["unavailable", "rate_limited", "slow"]
AfterCommitKind = Literal["response_lost", "timeout", "error_after_commit"]
FaultKind = Literal[BeforeKind, AfterCommitKind]

BEFORE = frozenset(get_args(BeforeKind))
AFTER_COMMIT = frozenset(get_args(AfterCommitKind))
KINDS = BEFORE | AFTER_COMMIT

RETRY_AFTER_S = 1  # what the refusals before anything ask the client to wait
DEFAULT_DELAY_S = {"timeout": 30.0, "slow": 3.0}
MAX_DELAY_S = 300.0

HEADER = b"x-sandbox-fault"


def default_delay(kind: str) -> float:
    return DEFAULT_DELAY_S.get(kind, 0.0)
