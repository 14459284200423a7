"""What GET /sandbox/coverage answers: what this merchant's integration has been tested
against. Every list names every known item, exercised or not, so a gap is visible."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.payouts.model.states import StatusName
from sandbox.requests.verdict import FaultVerdicts


class CoverageScenario(msgspec.Struct):
    name: str
    title: str
    payouts: int  # payouts that followed this scenario
    reached_end: int  # of those, how many walked its whole path
    stopped_at: Annotated[list[StatusName], msgspec.Meta(
        description="Where the payouts that started this scenario and did not reach its end are (or, when a "
                    "reinitiation moved them to another scenario, were) stopped, each status once, in the state "
                    "machine's order; empty when every payout that started it reached its end. A scenario no "
                    "payout started has `payouts` 0: coverage and the gate say \"never started\" of it, and "
                    "\"started, stopped at `processing`\" of one listed here")]


class CoverageEventType(msgspec.Struct):
    type: str
    acknowledged: int  # delivery attempts the merchant's endpoints answered with 2xx
    failed: int  # attempts answered otherwise, or not at all


class CoverageErrorCode(msgspec.Struct):
    code: str
    count: int


class CoverageOperatorPath(msgspec.Struct):
    name: str  # simulate, reinitiate, cancel, approve, reject, release
    count: int


class Coverage(msgspec.Struct):
    merchant_id: str
    scenarios: list[CoverageScenario]
    scenarios_reached: list[str]
    event_types: list[CoverageEventType]
    events_acknowledged: list[str]
    events_only_failed: list[str]
    error_codes: list[CoverageErrorCode]
    operator_paths: list[CoverageOperatorPath]
    # Per fault kind after commit: how many the merchant's requests got, and what its
    # client did next (recovered, duplicated, open), case by case.
    faults: list[FaultVerdicts]
