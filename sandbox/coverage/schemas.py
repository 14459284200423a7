"""What GET /sandbox/coverage answers: what this merchant's integration has been tested
against. The scenarios and the operator paths are every known one, exercised or not, so a gap
is visible; the event types and the problem codes are those seen (an event type never sent, a
code never answered, is not listed)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.types import said
from sandbox.payouts.model.states import StatusName
from sandbox.requests.verdict import FaultVerdicts


class CoverageScenario(msgspec.Struct):
    name: Annotated[str, said("The scenario's name (GET /sandbox/scenarios; a merchant's own too, a deleted one "
                              "of its payouts too)")]
    title: Annotated[str, said("Its title, in words")]
    payouts: Annotated[int, said("How many of the merchant's payouts followed it (a reinitiated payout counts under "
                                 "each scenario it walked)")]
    reached_end: Annotated[int, said(
        "Of those, how many walked its whole path, in order, by the scenario's own steps, and ended it with the "
        "scenario's outcome (its `failure_code`: the failure or return reason; none for a scenario that ends "
        "without one); and, where it submits to the rail, were submitted. A status `simulate` forced (or any rail "
        "callback not of the scenario's own steps) is no step of the scenario")]
    stopped_at: Annotated[list[StatusName], msgspec.Meta(
        description="Where the payouts that started this scenario and did not reach its end are (or, when a "
                    "reinitiation moved them to another scenario, were) stopped, each status once, in the state "
                    "machine's order; empty when every payout that started it reached its end. A scenario no "
                    "payout started has `payouts` 0: coverage and the gate say \"never started\" of it, and "
                    "\"started, stopped at `processing`\" of one listed here")]
    simulated_to: Annotated[list[str], msgspec.Meta(
        description="Where POST /sandbox/payouts/{payout_id}/simulate (or any rail callback that is not one of the "
                    "scenario's own steps) took the payouts that started this scenario and did not reach its end: "
                    "the status it forced, with the failure code when it gave one "
                    "(\"failed with account_closed\"), each once, sorted. Such a payout never covers the scenario: "
                    "coverage and the gate say \"started, simulated to `failed` with `account_closed`\"")] = []


class CoverageEventType(msgspec.Struct):
    type: Annotated[str, said("An event type one of the merchant's endpoints was sent")]
    acknowledged: Annotated[int, said("Delivery attempts of it the merchant's endpoints answered with a 2xx")]
    failed: Annotated[int, said("Attempts answered otherwise, or not at all")]


class CoverageErrorCode(msgspec.Struct):
    code: Annotated[str, said("A problem code the merchant's requests were answered with")]
    count: Annotated[int, said("How many times")]


class CoverageOperatorPath(msgspec.Struct):
    name: Annotated[str, said(
        "`simulate` (rail notifications sent by POST /sandbox/payouts/{payout_id}/simulate), `reinitiate` (a "
        "`failed` payout back to `pending`), `cancel`, `approve` (`in_review` to `pending`), `reject` or "
        "`release` (`on_hold` to `processing`)")]
    count: Annotated[int, said("How many times the merchant's payouts went through it; 0: never")]


class Coverage(msgspec.Struct):
    merchant_id: Annotated[str, said("The merchant (`mch_…`)")]
    scenarios: Annotated[list[CoverageScenario], said(
        "Every scenario: the built-in ones, then the merchant's own (and any deleted one its payouts followed), "
        "exercised or not")]
    scenarios_reached: Annotated[list[str], said("The scenarios at least one payout walked to the end, by name")]
    event_types: Annotated[list[CoverageEventType], said("Each event type the merchant's endpoints were sent, by "
                                                         "type; a type never sent is not listed")]
    events_acknowledged: Annotated[list[str], said("The event types with an attempt acknowledged (2xx)")]
    events_only_failed: Annotated[list[str], said("The event types sent but never acknowledged")]
    error_codes: Annotated[list[CoverageErrorCode], said(
        "Each problem code the merchant's requests got at least once, by code; a code never answered is not "
        "listed")]
    operator_paths: Annotated[list[CoverageOperatorPath], said("Every operator path, exercised or not")]
    faults: Annotated[list[FaultVerdicts], said(
        "Per fault after commit (`error_after_commit`, `response_lost`, `timeout`): how many of the merchant's "
        "requests got it and what its client did next, case by case")]
