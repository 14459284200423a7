"""The scenario table: data in `seeds/scenarios.json`, read once, chosen per payout. Its
statuses and failure codes must be the state machine's and the failure registry's (the
table is refused otherwise); its names are the `scenario` a payout shows."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, TypeAlias

import msgspec

from sandbox.core.money import parse_amount
from sandbox.payouts.failures import FailureCodeName
from sandbox.payouts.states import StatusName

SCENARIO_FILE = Path(__file__).resolve().parents[2] / "seeds" / "scenarios.json"


class Step(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    status: StatusName
    after_s: float = 0
    submit: bool = False
    reason: str | None = None
    failure_code: FailureCodeName | None = None
    via: str | None = None  # "ipn": the rail reports this step through a signed callback


class Scenario(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    suffix: str
    title: str
    description: str
    path: list[str]
    steps: list[Step]
    failure_code: FailureCodeName | None = None
    after_release: list[Step] = []


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

    def for_account(self, account: str) -> Scenario:
        suffix = account[-4:]
        for s in self.scenarios:
            if s.suffix == suffix:
                return s
        return self.by_name(self.default)

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
    table.by_name(table.default)
    return table


@cache
def table() -> ScenarioTable:
    return load()


SCENARIO_NAMES = tuple(s.name for s in table().scenarios)
ScenarioName: TypeAlias = Literal[SCENARIO_NAMES]  # type: ignore[valid-type]  # the `scenario` a payout shows
