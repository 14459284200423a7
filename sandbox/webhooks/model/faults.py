"""Fault injection per endpoint, drawn deterministically from the endpoint's seed and
the delivery's sequence number (the nth delivery to that endpoint), so a run that makes
the same events in the same order sees the same faults.

- `duplicate_rate`: a delivered request is sent a second time at once (same webhook-id).
- `reorder_window_ms`: the first attempt is held for a random part of the window, so
  later events overtake earlier ones.
- `delay_ms`: the first attempt is held this long.
- `fail_first_attempts`: the first N attempts are sent but counted as failed whatever
  the receiver answers (as if it had timed out), so the event comes again on the retry
  schedule.
- `wrong_signature_rate`: an attempt is signed with a key that is not the endpoint's.
- `stale_timestamp_rate`: an attempt carries a `webhook-timestamp` ten minutes old
  (correctly signed), which a verifying receiver must refuse.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated

import msgspec

Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0, description="Share of deliveries or attempts affected, 0..1")]
STALE_BY = timedelta(minutes=10)

DUPLICATE, REORDER, DELAY = "duplicate", "reorder", "delay"
FAIL_FIRST, WRONG_SIGNATURE, STALE_TIMESTAMP = "fail_first", "wrong_signature", "stale_timestamp"


class Faults(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Faults this endpoint's deliveries get, on purpose. All off by default."""

    seed: Annotated[int, msgspec.Meta(ge=0, le=2**53)] = 0
    duplicate_rate: Rate = 0.0
    reorder_window_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 0
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=300_000)] = 0
    fail_first_attempts: Annotated[int, msgspec.Meta(ge=0, le=7)] = 0
    wrong_signature_rate: Rate = 0.0
    stale_timestamp_rate: Rate = 0.0


NONE = Faults()
_decode = msgspec.json.Decoder(Faults)


def load(stored: str | bytes | None) -> Faults:
    return _decode.decode(stored) if stored else NONE


def draw(seed: int, seq: int, what: str, attempt: int = 0) -> float:
    """A number in [0, 1) fixed by (seed, delivery sequence number, fault, attempt)."""
    digest = hashlib.sha256(f"{seed}:{seq}:{attempt}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hold(faults: Faults, seq: int) -> timedelta:
    """How long the first attempt of delivery `seq` waits (delay plus its reorder share)."""
    ms = faults.delay_ms
    if faults.reorder_window_ms:
        ms += int(faults.reorder_window_ms * draw(faults.seed, seq, REORDER))
    return timedelta(milliseconds=ms)


def for_attempt(faults: Faults, seq: int, attempt: int) -> frozenset[str]:
    """The faults applied to attempt `attempt` (1-based) of delivery `seq`."""
    applied = set()
    if attempt <= faults.fail_first_attempts:
        applied.add(FAIL_FIRST)
    for name, rate in ((WRONG_SIGNATURE, faults.wrong_signature_rate), (STALE_TIMESTAMP, faults.stale_timestamp_rate),
                       (DUPLICATE, faults.duplicate_rate)):
        if rate and draw(faults.seed, seq, name, attempt) < rate:
            applied.add(name)
    return frozenset(applied)
