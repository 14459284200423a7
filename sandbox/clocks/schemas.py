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

    seconds: Annotated[float, msgspec.Meta(
        ge=0, le=MAX_ADVANCE_S,
        description="Move the clock this many seconds, applying every step that falls due on the way. "
                    "`next_step_at` − `time` (GET /sandbox/clock) applies exactly the next step")] | None = None
    until: Annotated[Literal["idle"], msgspec.Meta(
        description="`idle`: move the clock from due step to due step until none is left (no further than "
                    "`seconds`, if given), and stop at the last one")] | None = None


class ClockTransition(msgspec.Struct):
    payout_id: Annotated[str, msgspec.Meta(description="The payout that moved")]
    from_status: Annotated[str, msgspec.Meta(description="Its status before the step")] = msgspec.field(name="from")
    to_status: Annotated[str, msgspec.Meta(description="Its status after the step")] = msgspec.field(name="to")
    at: Annotated[str, msgspec.Meta(description="The clock's time the step was applied at (RFC 3339, milliseconds)")]


class MerchantClock(msgspec.Struct):
    kind: Annotated[Literal["live", "manual"], msgspec.Meta(
        description="`manual`: the merchant's payouts move only when it advances its clock; `live`: in real time")]
    time: Annotated[str, msgspec.Meta(
        description="The clock's time (RFC 3339, milliseconds); the wall-clock time on a live clock")]
    next_step_at: Annotated[str | None, msgspec.Meta(
        description="When the earliest step of the merchant's payouts falls due; null when none is (what is left "
                    "waits for an operator or the bank). Advance by `seconds` = this − `time` to apply just that step")]


class ClockAdvanced(msgspec.Struct):
    time: Annotated[str, msgspec.Meta(description="The clock's new time (RFC 3339, milliseconds)")]
    steps_applied: Annotated[int, msgspec.Meta(description="How many scenario steps the advance applied")]
    transitions: Annotated[list[ClockTransition], msgspec.Meta(
        description="The status changes, in the order they were applied")]
    idle: Annotated[bool, msgspec.Meta(
        description="Nothing of the merchant's is due any more (what remains waits for an operator or the bank)")]
