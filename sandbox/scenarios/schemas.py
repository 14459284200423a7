"""A merchant's own scenario as a client writes it: the built-in table's vocabulary."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.core.types import Description, Reason, Title
from sandbox.payouts.model.failures import FailureCodeName
from sandbox.payouts.model.scenarios import STEP_WORDS, SUFFIX_WORDS, TITLE_WORDS

MAX_STEPS = 20
"""Steps per list (`steps`, `after_release`) of one scenario."""
MAX_DELAY_S = 30 * 24 * 3600
"""A step's delay at most: 30 days of simulated time (SANDBOX_TIME_SCALE scales it; a
manual clock's advance jumps it)."""

# The statuses a scenario's step may enter. The others are a person's: `in_review`
# (the amount), `rejected` (an admin), `cancelled` (the merchant).
StepStatus = Literal["pending", "processing", "retrying", "on_hold", "success", "failed", "returned"]

ScenarioNameIn = Annotated[str, msgspec.Meta(
    min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", examples=["returned_after_two_days"],
    description="Lower-case letters, digits and underscores, starting with a letter; not a built-in name")]
Suffix = Annotated[str, msgspec.Meta(
    pattern=r"^[0-9]{4}$", examples=["7001"],
    description=f"{SUFFIX_WORDS}; not a built-in one's nor another of yours. Without one, the scenario is"
                " chosen only by name (`scenario` in POST /payouts)")]


class StepIn(msgspec.Struct, forbid_unknown_fields=True):
    """One step: after `after_s` simulated seconds the payout enters `status`."""

    status: Annotated[StepStatus, msgspec.Meta(description=STEP_WORDS["status"])]
    after_s: Annotated[float, msgspec.Meta(ge=0, le=MAX_DELAY_S, description=STEP_WORDS["after_s"])] = 0
    submit: Annotated[bool, msgspec.Meta(description=STEP_WORDS["submit"])] = False
    via: Annotated[Literal["ipn"] | None, msgspec.Meta(description=STEP_WORDS["via"])] = None
    failure_code: Annotated[FailureCodeName | None, msgspec.Meta(description=STEP_WORDS["failure_code"])] = None
    reason: Annotated[Reason | None, msgspec.Meta(description=STEP_WORDS["reason"])] = None


class ScenarioCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: ScenarioNameIn
    title: Annotated[Title, msgspec.Meta(description=TITLE_WORDS)]
    steps: Annotated[list[StepIn], msgspec.Meta(
        min_length=1, max_length=MAX_STEPS,
        description=f"From `pending`, in order (at most {MAX_STEPS}); checked against the payout state machine")]
    description: Description = ""
    suffix: Suffix | None = None
    after_release: Annotated[list[StepIn], msgspec.Meta(
        max_length=MAX_STEPS,
        description="Required when a step goes `on_hold` (its last): the steps an admin's release starts,"
                    " from `on_hold`. The first is the release's own move, made at once: its `after_s` is 0;"
                    " each one after it waits its `after_s`")] = []
