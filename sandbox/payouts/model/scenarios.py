"""The scenario table: data in `seeds/scenarios.json`, read once, chosen per payout. Its
statuses and failure codes must be the state machine's and the failure registry's (the
table is refused otherwise); its names are the `scenario` a payout shows.

A merchant may add scenarios of its own (sandbox/scenarios/), in the same shape. A
payout on one carries the scenario itself in its row (`script`, a `Script`'s JSON; NULL
for a built-in one, which is found by name): whoever plans its next step reads it there,
with no query, and deleting the scenario leaves the payouts already on it theirs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from itertools import chain
from pathlib import Path
from typing import Annotated, Literal, Protocol

import msgspec

from sandbox.core.money import parse_amount
from sandbox.core.types import said
from sandbox.payouts.model.failures import FailureCodeName
from sandbox.payouts.model.states import StatusName

SCENARIO_FILE = Path(__file__).resolve().parents[3] / "seeds" / "scenarios.json"


# Every field in every answer, defaults included (`submit: false`, `custom: false`): a
# client reads the same shape from a built-in scenario and its own.
# A step's fields in words, for the table's steps and for the steps a merchant writes
# (sandbox/scenarios/schemas.py) alike.
STEP_WORDS = {
    "status": "The status the step enters. `pending` only with `submit` (it submits to the rail and waits for the "
              "bank without a status change)",
    "after_s": "Seconds after the step before (simulated time)",
    "submit": "The step submits the payout to the rail (it gets its psp_reference)",
    "via": "`ipn`: the bank reports this step itself, through the rail's signed callback (after a step that "
           "submits; `success`, `failed` or `returned`)",
    "failure_code": "Why it failed (required for `failed`) or came back (`returned`; without one a return records "
                    "`rail_returned`): one of GET /sandbox/failure-codes",
    "reason": "Words for the status history (e.g. why it retries)",
}
SUFFIX_WORDS = ("The last four digits of an account number, IBAN, wallet number or Raast alias that pick this "
                "scenario")
TITLE_WORDS = "A short title, in words"


class Step(msgspec.Struct, forbid_unknown_fields=True):
    status: Annotated[StatusName, said(STEP_WORDS["status"])]
    after_s: Annotated[float, said(STEP_WORDS["after_s"])] = 0
    submit: Annotated[bool, said(STEP_WORDS["submit"])] = False
    reason: Annotated[str | None, said(STEP_WORDS["reason"])] = None
    failure_code: Annotated[FailureCodeName | None, said(STEP_WORDS["failure_code"])] = None
    via: Annotated[Literal["ipn"] | None, said(STEP_WORDS["via"])] = None


class Scenario(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, said("The scenario's name: a payout's `scenario`, and what `scenario` in POST /payouts "
                              "picks it by")]
    suffix: Annotated[str | None, said(f"{SUFFIX_WORDS}; null: chosen only by name (a merchant's own may have "
                                       "none)")]
    title: Annotated[str, said(TITLE_WORDS)]
    description: Annotated[str, said("What happens to a payout on it, in words")]
    path: Annotated[list[StatusName], said("The statuses its payouts walk, from `pending`, in order (each once "
                                           "in a row; the steps after a release not included)")]
    steps: Annotated[list[Step], said("From `pending`, in order, each after its `after_s`")]
    failure_code: Annotated[FailureCodeName | None, said(
        "Why its payouts fail or come back: the first `failure_code` among its steps; null when none has one")] = None
    after_release: Annotated[list[Step], said(
        "The steps an admin's release starts, from `on_hold`; empty unless its steps end `on_hold`")] = []
    custom: Annotated[bool, said("True: the merchant's own (POST /sandbox/scenarios); false: built in")] = False
    created_at: Annotated[str | None, said(
        "When the merchant made it (RFC 3339, milliseconds); null for a built-in one")] = None


MAIN, AFTER_RELEASE = "main", "after_release"

RELEASE_MOVES_AT_ONCE = ("an admin's release makes the first after-release move itself, at once: its `after_s` is 0"
                         " (the steps after it wait their own `after_s`)")
"""Why a table's first after-release step has no delay: the planner takes it at the
release (the payout leaves on_hold then, with the admin's reason), so a delay there would
be a time the served table gives and the payout never keeps. Checked for the built-in
table (`load`) and a merchant's own (sandbox/scenarios/rules.py)."""


class _Delayed(Protocol):
    @property
    def after_s(self) -> float: ...


def release_delay(after_release: Sequence[_Delayed]) -> bool:
    """Whether the first after-release step asks for a delay the release cannot keep."""
    return bool(after_release) and after_release[0].after_s != 0


def tracks(scenario: Scenario) -> tuple[tuple[str, list[Step]], ...]:
    """The scenario's lists of steps by track name: the main one, and the one an admin's
    release starts."""
    return (MAIN, scenario.steps), (AFTER_RELEASE, scenario.after_release)


def rail_reported(scenario: Scenario) -> list[str]:
    """`track:index` of each step of the scenario that the rail reports (`via: ipn`)."""
    return [f"{track}:{i}" for track, steps in tracks(scenario) for i, step in enumerate(steps) if step.via == "ipn"]


class Script(msgspec.Struct, forbid_unknown_fields=True):
    """A payout's own copy of a merchant's scenario (the `script` column). `rail` lists the
    steps the rail reports (`rail_reported`), for the claim of due steps to leave them to
    their own jobs: it asks `script->'rail' ? 'track:index'` in SQL."""

    scenario: Scenario
    rail: list[str]


_script_encoder = msgspec.json.Encoder()
_script_decoder = msgspec.json.Decoder(Script)


def script_of(scenario: Scenario) -> str | None:
    """What a payout on `scenario` carries in its `script` column: None for a built-in one."""
    if not scenario.custom:
        return None
    return _script_encoder.encode(Script(scenario, rail_reported(scenario))).decode()


@lru_cache(maxsize=1024)
def from_script(script: str) -> Scenario:
    """The scenario a payout's `script` holds (decoded once per distinct text)."""
    return _script_decoder.decode(script).scenario


class Review(msgspec.Struct, forbid_unknown_fields=True):
    """Manual review: payouts of `min_amount` or more wait `in_review` for an admin first."""

    min_amount: Annotated[str, said("Payouts of this amount or more wait `in_review` first, a decimal string")]
    title: Annotated[str, said(TITLE_WORDS)]
    description: Annotated[str, said("What happens to a payout in review, in words")]


class ScenarioTable(msgspec.Struct, forbid_unknown_fields=True):
    comment: Annotated[str, said("How the table works, in words")]
    default: Annotated[str, said("The scenario a payout follows when its destination's last four digits match no "
                                 "`suffix`, by name")]
    review: Review
    scenarios: Annotated[list[Scenario], said(
        "The built-in scenarios, then the merchant's own (`custom: true`), oldest first; an admin key sees the "
        "built-in ones")]

    @property
    def review_min_minor(self) -> int:
        return parse_amount(self.review.min_amount)

    def by_name(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(name)

    def for_account(self, account: str, own: Sequence[Scenario] = ()) -> Scenario:
        """The scenario whose suffix the account number ends with, among the merchant's
        own (`own`) and the built-in ones (no suffix is both: sandbox/scenarios/ refuses
        it); the default one for any other suffix."""
        suffix = account[-4:]
        for s in chain(own, self.scenarios):
            if s.suffix == suffix:
                return s
        return self.by_name(self.default)

    def named(self, name: str, own: Sequence[Scenario] = ()) -> Scenario | None:
        """The built-in or merchant's own scenario called `name`; None: none is."""
        return next((s for s in chain(self.scenarios, own) if s.name == name), None)

    def needs_review(self, amount_minor: int) -> bool:
        return amount_minor >= self.review_min_minor


def load(path: Path = SCENARIO_FILE) -> ScenarioTable:
    table = msgspec.json.decode(path.read_bytes(), type=ScenarioTable)
    names = [s.name for s in table.scenarios]
    suffixes = [s.suffix for s in table.scenarios]
    if len(set(names)) != len(names) or len(set(suffixes)) != len(suffixes):
        raise ValueError(f"{path}: scenario names and suffixes must be unique")
    for s in table.scenarios:
        for steps in (s.steps, s.after_release):
            first_ipn = next((i for i, step in enumerate(steps) if step.via == "ipn"), len(steps))
            if first_ipn < len(steps) and not any(step.submit for step in steps[:first_ipn]):
                # The rail reports on a payout it was given: its callback names the psp_reference.
                raise ValueError(f"{path}: scenario {s.name}: a step via ipn must follow a step that submits")
        if release_delay(s.after_release):
            raise ValueError(f"{path}: scenario {s.name}: after_release[0]: {RELEASE_MOVES_AT_ONCE}")
    table.by_name(table.default)
    return table


@cache
def table() -> ScenarioTable:
    return load()


SCENARIO_NAMES = tuple(s.name for s in table().scenarios)
"""The built-in scenarios' names (a payout's `scenario` is one of these or a merchant's own)."""
