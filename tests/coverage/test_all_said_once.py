"""`all` in a coverage requirement means one thing, said in one sentence
(`sandbox.coverage.asked.EVERY_SCENARIO_MEANS`): the API's spec, `sandbox gate --help`, the
pytest plugin's `--help` and every guide that defines it say exactly that, and nothing
else after "`all`:"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sandbox.cli import build_parser
from sandbox.coverage.asked import EVERY_SCENARIO_MEANS, every_scenario
from sandbox.testing import plugin

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ("docs/testing-your-integration.md", "docs/running-in-ci.md", "docs/scenarios-and-time.md")


def flat(text: str) -> str:
    """Text as read, whatever its line breaks or indentation."""
    return " ".join(text.split())


@pytest.mark.parametrize("guide", GUIDES)
def test_each_guide_defines_all_in_the_one_sentence(guide):
    text = flat((ROOT / guide).read_text())
    definitions = [m.end() for m in re.finditer(r"`all`: ", text)]
    assert definitions, f"{guide} never says what `all` means"
    for at in definitions:
        assert text[at:].startswith(EVERY_SCENARIO_MEANS), f"{guide}: `all`: {text[at:at + 120]}…"


def test_the_spec_says_it():
    spec = json.loads((ROOT / "openapi/openapi.json").read_text())
    field = spec["components"]["schemas"]["GateRequest"]["properties"]["require_coverage"]
    assert f'"all": {EVERY_SCENARIO_MEANS}' in field["description"]
    judge = spec["paths"]["/api/v1/sandbox/gate"]["post"]
    assert f'`"all"`: {EVERY_SCENARIO_MEANS}' in judge["description"]


class OptionsSaid:
    """What a plugin's `pytest_addoption` declares, by option name: the part of pytest's
    parser it uses (pytest's own `Parser` is private to pytest, and warns when made)."""

    def __init__(self) -> None:
        self.options: dict[str, dict] = {}

    def getgroup(self, *_args, **_kwargs) -> OptionsSaid:
        return self

    def addoption(self, *names: str, **attrs) -> None:
        self.options.update(dict.fromkeys(names, attrs))


def test_the_cli_and_the_plugin_say_it(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gate", "--help"])
    assert f"all: {EVERY_SCENARIO_MEANS}" in flat(capsys.readouterr().out)
    said = OptionsSaid()
    plugin.pytest_addoption(said)  # pyright: ignore[reportArgumentType]
    assert f"all: {EVERY_SCENARIO_MEANS}" in flat(said.options["--mypay-require-coverage"]["help"])


def test_it_is_the_built_in_table():
    table = json.loads((ROOT / "seeds/scenarios.json").read_text())
    assert every_scenario() == [s["name"] for s in table["scenarios"]]
