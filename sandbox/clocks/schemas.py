from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# A year of clock time per call at most: enough for any scenario (its longest delay is
# seconds), small enough that a typo cannot fling a clock past every timestamp's range.
MAX_ADVANCE_S = 365 * 24 * 3600


class ClockAdvance(msgspec.Struct, forbid_unknown_fields=True):
    """`seconds`: move the clock this far (none: 0, which applies only what is due now).
    `until: "idle"`: move it from due step to due step until nothing of the merchant's is
    due any more, and stop at the last one; with `seconds` too, no further than that."""

    seconds: Annotated[float, msgspec.Meta(ge=0, le=MAX_ADVANCE_S)] | None = None
    until: Literal["idle"] | None = None


class ClockTransition(msgspec.Struct):
    payout_id: str
    from_status: str = msgspec.field(name="from")
    to_status: str = msgspec.field(name="to")
    at: str


class MerchantClock(msgspec.Struct):
    kind: Literal["live", "manual"]
    time: str  # the clock's time (wall-clock time on a live clock)
    next_step_at: str | None  # when the earliest step of the merchant's payouts falls due


class ClockAdvanced(msgspec.Struct):
    time: str  # the clock's new time
    steps_applied: int
    transitions: list[ClockTransition]  # in the order they were applied
    idle: bool  # nothing of the merchant's is due any more (what remains waits for an operator or the bank)
