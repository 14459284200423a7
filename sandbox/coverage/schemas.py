"""What GET /sandbox/coverage answers: what this merchant's integration has been tested
against. Every list names every known item, exercised or not, so a gap is visible."""

from __future__ import annotations

import msgspec

from sandbox.requests.verdict import FaultVerdicts


class CoverageScenario(msgspec.Struct):
    name: str
    title: str
    payouts: int  # payouts that followed this scenario
    reached_end: int  # of those, how many walked its whole path


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
