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
from typing import Literal, Protocol

import msgspec

from sandbox.core.money import parse_amount
from sandbox.payouts.model.failures import FailureCodeName
from sandbox.payouts.model.states import StatusName

SCENARIO_FILE = Path(__file__).resolve().parents[3] / "seeds" / "scenarios.json"


# Every field in every answer, defaults included (`submit: false`, `custom: false`): a
# client reads the same shape from a built-in scenario and its own.
class Step(msgspec.Struct, forbid_unknown_fields=True):
    status: StatusName
    after_s: float = 0
    submit: bool = False
    reason: str | None = None
    failure_code: FailureCodeName | None = None
    via: Literal["ipn"] | None = None  # "ipn": the rail reports this step through a signed callback


class Scenario(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    suffix: str | None  # None: chosen only by name (a merchant's scenario may have no suffix)
    title: str
    description: str
    path: list[StatusName]
    steps: list[Step]
    failure_code: FailureCodeName | None = None
    after_release: list[Step] = []
    custom: bool = False  # the merchant's own (sandbox/scenarios/), not the built-in table's
    created_at: str | None = None  # a merchant's own: when it was made


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
    min_amount: str
    title: str
    description: str


class ScenarioTable(msgspec.Struct, forbid_unknown_fields=True):
    comment: str
    default: str
    review: Review
    scenarios: list[Scenario]

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
