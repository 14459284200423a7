"""The committed spec as tools read it: valid OpenAPI 3.1, patterns a JavaScript validator
reads as Python does, one meaningful name per component, the destination's real shapes
with the seeded directory's codes, and a webhook for every event type."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import jsonschema
import pytest
from openapi_spec_validator import validate

from sandbox.api.openapi_export import EVENTS_DIR, SPEC_PATH, directory_codes
from sandbox.webhooks.model.event_types import EVENT_TYPES


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns(value)


def test_the_spec_is_valid_openapi(spec):
    validate(spec)


def test_patterns_have_no_python_only_syntax(spec):
    found = list(patterns(spec))
    assert found
    for pattern in found:
        # Lookarounds, \Z, \A, (?P<…>) and inline flags are Python's or read differently in JavaScript.
        assert not re.search(r"\(\?[!=<P]|\\[AZz]|\(\?[aiLmsux]", pattern), pattern


def test_component_names_are_unique_and_meaningful(spec):
    names = list(spec["components"]["schemas"])
    assert not [n for n in names if "_schemas_" in n or not re.fullmatch(r"[A-Z][A-Za-z0-9]+", n)], names


def test_destination_is_one_of_its_shapes_with_the_directory_codes(spec):
    schemas = spec["components"]["schemas"]
    shapes = {ref["$ref"].rsplit("/", 1)[1] for ref in schemas["DestinationIn"]["oneOf"]}
    assert shapes == {"BankAccountDestination", "IbanDestination", "WalletDestination", "RaastDestination"}
    banks, wallets = directory_codes()
    assert schemas["BankAccountDestination"]["properties"]["bank_code"]["enum"] == banks
    assert schemas["WalletDestination"]["properties"]["wallet_code"]["enum"] == wallets
    assert schemas["BankAccountDestination"]["required"] == ["type", "bank_code", "account_number"]
    assert schemas["RaastDestination"]["required"] == ["type", "alias"]


BODIES = {
    "bank account": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "A"},
    "iban": {"type": "bank", "iban": "PK36SCBL0000001123456702"},
    "wallet": {"type": "wallet", "wallet_code": "EASYPAISA", "account_number": "03001230001"},
    "raast": {"type": "raast", "alias": "03001230001"},
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_each_documented_destination_matches_exactly_one_shape(spec, body):
    resolver = {"components": spec["components"], **spec["components"]["schemas"]["DestinationIn"]}
    jsonschema.Draft202012Validator(resolver).validate(body)


@pytest.mark.parametrize("body", [{"type": "bank"},
                                  {"type": "bank", "bank_code": "XYZ", "account_number": "1234567890"},
                                  {"type": "raast", "alias": "03001230001", "bank_code": "HBL"}])
def test_incomplete_destinations_do_not_match(spec, body):
    resolver = {"components": spec["components"], **spec["components"]["schemas"]["DestinationIn"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(resolver).validate(body)


def test_every_event_type_is_a_webhook_with_the_published_envelope(spec):
    assert set(spec["webhooks"]) == set(EVENT_TYPES)
    for event_type, item in spec["webhooks"].items():
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        envelope = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        published = json.loads((EVENTS_DIR / f"{event_type}.json").read_text())
        assert envelope["properties"]["type"]["const"] == event_type
        assert envelope["required"] == published["required"]
        assert set(envelope["properties"]) == set(published["properties"])


SAMPLES = ["", "a", "1500.00", "1500.00\n", "0.5", "-1.00", "PKR", "PKR\n", "03001230001", "03001230001\n",
           "12345678900001", "PK36SCBL0000001123456702", "pk36 scbl 0000 0011 2345 6702", "2026-11-23T10:30:00Z",
           "2026-11-23T10:30:00Z\n", "http://127.0.0.1:4000/hook", "https://example.com/a\"b", "a\u0085b",
           "a\u009bb", "\u202eevil", "a\u2028b", "\u062a\u0646\u062e\u0648\u0627\u06c1", "order-42", "A_B", "\x7f",
           "invalid_account", "HBL", "x" * 70]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (JavaScript) to compare with")
def test_javascript_reads_every_pattern_as_python_does(spec):
    """ajv and other JavaScript validators compile a pattern with the `u` flag and test it
    against the whole string; Python's verdict here is re.fullmatch, which is what the API
    enforces. Every pattern must compile in JavaScript and agree on every sample."""
    found = sorted(set(patterns(spec)))
    script = ("const [ps, ss] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(ps.map(p => { let r; try { r = new RegExp(p, 'u'); } catch (e) {"
              " return 'invalid: ' + e.message; } return ss.map(s => r.test(s)); })));")
    run = subprocess.run(["node", "-e", script], input=json.dumps([found, SAMPLES]), capture_output=True,
                         text=True, timeout=60, check=True)
    verdicts = json.loads(run.stdout)
    for pattern, js in zip(found, verdicts, strict=True):
        assert isinstance(js, list), (pattern, js)
        python = [re.fullmatch(pattern, s) is not None for s in SAMPLES]
        assert js == python, (pattern, [s for s, a, b in zip(SAMPLES, js, python, strict=True) if a != b])
