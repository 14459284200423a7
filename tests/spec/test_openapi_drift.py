"""The committed spec is what the app serves; every route is documented properly."""

import json
from pathlib import Path

from tests.helpers import app_spec

# The repository's committed spec, beside these tests (not next to the package: installed
# from a wheel, as .ci/debian runs the suite, that is site-packages, with no openapi/).
SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_spec_matches_the_app():
    assert SPEC_PATH.exists(), "run `uv run sandbox openapi` and commit openapi/openapi.json"
    assert SPEC_PATH.read_text() == app_spec(), "the API changed: run `uv run sandbox openapi` and commit the result"


def test_every_operation_is_documented():
    spec = json.loads(app_spec())
    assert spec["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "name": "X-API-KEY", "in": "header"}
    seen = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op.get("operationId"), f"{method} {path} has no operationId"
            assert op["operationId"] not in seen
            seen.add(op["operationId"])
            public = path in ("/api/v1/health", "/api/v1/ready", "/api/v1/ready/api")
            if not public:
                assert op.get("security") == [{"apiKey": []}], f"{method} {path} lacks the apiKey scheme"
                assert "401" in op["responses"], f"{method} {path} does not document 401"
            names = [p["name"] for p in op.get("parameters", [])]
            if op["operationId"] in READS_BY_POST:  # they change nothing: no key, no key's conflicts
                assert "X-Idempotency-Key" not in names
                conflicts = op["responses"].get("409", {}).get("description", "")
                assert "idempotency_key" not in conflicts and "idempotency_key" not in \
                    op["responses"].get("422", {}).get("description", "")
            elif method != "get":
                assert "X-Idempotency-Key" in names, f"{method} {path} does not document the idempotency key"
                assert "400" in op["responses"] and "409" in op["responses"] and "422" in op["responses"]


# POSTs that only read (a check), or whose repeat is harmless (a listener's answers: one for a
# request nobody waits for any more changes nothing): they need no idempotency key.
READS_BY_POST = {"verifyAccount", "judgeIntegration", "answerWebhookListener"}


def _enum(node: dict) -> list:
    """The values of an enum, nullable or not (`oneOf: [enum, null]` adds None)."""
    if "oneOf" in node:
        return [v for option in node["oneOf"] for v in option.get("enum", [None])]
    return node["enum"]


def test_closed_sets_are_the_enums_of_their_one_source():
    """Each closed set is stated from the one place it lives: a status added to the state
    machine, a failure code or a problem class shows in the spec
    (and so in clients) without anyone editing the spec's code."""
    from sandbox.api.app import create_app
    from sandbox.batches.schemas import ITEM_STATUSES
    from sandbox.core.errors import problem_codes
    from sandbox.payouts.model.failures import FAILURE_CODES
    from sandbox.payouts.model.scenarios import table
    from sandbox.payouts.model.states import INITIAL, STATUSES
    from sandbox.webhooks.model.event_types import EVENT_TYPES

    create_app()  # every domain's error classes imported
    schemas = json.loads(app_spec())["components"]["schemas"]
    scenario_names = [s.name for s in table().scenarios]
    for name in ("Payout", "AdminPayout"):
        props = schemas[name]["properties"]
        assert _enum(props["status"]) == list(STATUSES)
        # Not a closed set: a merchant may add its own. The built-in names are stated in words.
        assert props["scenario"]["type"] == "string" and "enum" not in props["scenario"]
        assert all(n in props["scenario"]["description"] for n in scenario_names)
        assert _enum(props["failure_code"]) == [*FAILURE_CODES, None]
    assert _enum(schemas["StatusChange"]["properties"]["status"]) == list(STATUSES)
    assert _enum(schemas["PayoutBatchItem"]["properties"]["status"]) == [*ITEM_STATUSES, *STATUSES]
    assert _enum(schemas["Problem"]["properties"]["code"]) == problem_codes()
    assert "validation_error" in problem_codes() and "http_error" in problem_codes()
    # GET /events: one shape per type, `data` the same schema as the webhook's.
    listed = schemas["Event"]["discriminator"]["mapping"]
    assert set(listed) == set(EVENT_TYPES)
    for event_type, ref in listed.items():
        variant = schemas[ref.rsplit("/", 1)[1]]["properties"]
        webhook = schemas[schemas["WebhookEvent"]["discriminator"]["mapping"][event_type].rsplit("/", 1)[1]]
        assert variant["type"]["const"] == event_type and variant["data"] == webhook["properties"]["data"]
    for prop in ("from", "to"):
        assert _enum(schemas["ClockTransition"]["properties"][prop]) == list(STATUSES)
    destination_types = [_enum(schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"])
                         for ref in schemas["Destination"]["oneOf"]]
    assert destination_types == [["bank"], ["bank"], ["wallet"], ["raast"]]

    union = schemas["WebhookEvent"]
    assert set(union["discriminator"]["mapping"]) == set(EVENT_TYPES)
    for event_type, ref in union["discriminator"]["mapping"].items():
        data = schemas[ref.rsplit("/", 1)[1]]["properties"]["data"]
        data = schemas[data["$ref"].rsplit("/", 1)[1]]
        if event_type == "payout.created":
            assert set(data["properties"]["status"]["enum"]) == {s.value for s in INITIAL}
        elif event_type.startswith("payout."):
            assert data["properties"]["status"]["const"] == event_type.removeprefix("payout.")
