"""The scenario editor's form: its fields ↔ the API's ScenarioCreate, so a scenario made
on the page passes the very checks of POST /sandbox/scenarios. Each step is a row of
fields named `<list>-<row>-<field>` (`steps-0-status`, `after_release-1-submit`); the
page adds rows with a little JavaScript, and a row left blank is no step."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import get_args

import msgspec

from sandbox.dashboard.forms import FormError, convert, label
from sandbox.payouts.model.failures import CATALOGUE
from sandbox.payouts.model.scenarios import Scenario, Step
from sandbox.scenarios.schemas import ScenarioCreate, StepStatus

STATUSES = get_args(StepStatus)
CODES = [(code, f"{code} ({entry.iso_reason})") for code, entry in CATALOGUE.items()]
LISTS = ("steps", "after_release")
_FIELD = re.compile(r"^(?P<list>steps|after_release)-(?P<row>\d{1,3})-(?P<field>[a-z_]+)$")


@dataclass
class Row:
    """One step as the form shows it (text as typed, so a refused form comes back as sent)."""

    status: str = ""
    after_s: str = ""
    submit: bool = False
    ipn: bool = False
    failure_code: str = ""
    reason: str = ""

    def blank(self) -> bool:
        return self == Row()


@dataclass
class Values:
    name: str = ""
    title: str = ""
    description: str = ""
    suffix: str = ""
    steps: list[Row] = field(default_factory=list)
    after_release: list[Row] = field(default_factory=list)


def _rows(steps: list[Step]) -> list[Row]:
    return [Row(s.status, f"{s.after_s:.15g}", s.submit, s.via == "ipn", s.failure_code or "", s.reason or "")
            for s in steps]


def copy_of(scenario: Scenario) -> Values:
    """A scenario to start from: its words and steps, not its name or suffix (they are taken)."""
    return Values(title=scenario.title, description=scenario.description, steps=_rows(scenario.steps),
                  after_release=_rows(scenario.after_release))


def read(form: Mapping[str, str]) -> Values:
    """The form as sent: each list's rows in row order, blank ones left out (so row n of the
    page is step n of the scenario, as its messages name it)."""
    rows: dict[str, dict[int, Row]] = {name: {} for name in LISTS}
    for key in form:
        if not (m := _FIELD.match(key)):
            continue
        row = rows[m["list"]].setdefault(int(m["row"]), Row())
        value = (form.get(key) or "").strip()
        match m["field"]:
            case "status" | "after_s" | "failure_code" | "reason" as name:
                setattr(row, name, value)
            case "submit":
                row.submit = bool(value)
            case "via":
                row.ipn = value == "ipn"
    kept = {name: [r for _, r in sorted(rows[name].items()) if not r.blank()] for name in LISTS}
    text = {name: (form.get(name) or "").strip() for name in ("name", "title", "description", "suffix")}
    return Values(**text, steps=kept["steps"], after_release=kept["after_release"])


def _step(row: Row, where: str) -> dict:
    if not row.status:
        raise FormError([f"{label(where)}: pick the status it enters"])
    # A number as JSON writes it, as the API takes it: Python's float() would also take
    # "1_000", " 1e3 ", "inf" and "nan".
    try:
        after_s = msgspec.json.decode(row.after_s or "0", type=float, strict=True)
    except msgspec.MsgspecError:
        after_s = math.nan
    if not math.isfinite(after_s):
        raise FormError([f"{label(where + '.after_s')}: must be a number of seconds, like 2 or 0.5"])
    step: dict = {"status": row.status, "after_s": after_s, "submit": row.submit}
    if row.ipn:
        step["via"] = "ipn"
    if row.failure_code:
        step["failure_code"] = row.failure_code
    if row.reason:
        step["reason"] = row.reason
    return step


def body(values: Values) -> ScenarioCreate:
    """The API's body for the form (its schema checked here; its timeline is checked by
    `sandbox.scenarios.rules` when it is made). Raises FormError."""
    data: dict = {"name": values.name, "title": values.title, "description": values.description,
                  "steps": [_step(r, f"steps[{i}]") for i, r in enumerate(values.steps)],
                  "after_release": [_step(r, f"after_release[{i}]") for i, r in enumerate(values.after_release)]}
    if values.suffix:
        data["suffix"] = values.suffix
    if not data["steps"]:
        raise FormError(["Steps: give at least one step (a status, and when it comes)"])
    return convert(data, ScenarioCreate)

