"""What the published OpenAPI document says beyond what Litestar derives from the routes:
the destination's shapes, the problem codes, the webhooks section built from the event
schemas (and `WebhookEvent`, their union), the words of the schemas a field names bare
(their Structs' docstrings), bodies that may be left out, and patterns a
JavaScript validator reads as Python does. Closed sets the Structs type as `Literal`s
built from their one source (the state machine, the scenario table, the failure
registry) Litestar states as enums by itself. The app serves
the finished document at /schema (`publish_on_first_use`); sandbox/api/openapi_export.py writes it to
`openapi/`. This module never imports the app, so the app may import it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from sandbox.api.openapi_streams import event_streams, schema_components
from sandbox.core.money import PYTHON_END

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EVENTS_DIR = SPEC_PATH.parent / "events"
SEED_DIRECTORY = SPEC_PATH.parents[1] / "seeds" / "directory.json"
# Amounts on the wire: major units, exactly two decimals; a change may be negative.
AMOUNT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


def publish_on_first_use(app, adjust: Callable[[Any], None], prepare: Callable[[], None] = lambda: None) -> None:
    """Make the spec the app serves at /schema the finished one: Litestar's document,
    `adjust`ed (the app's additions to its objects), plus what it cannot say (the
    destination's shapes, the webhooks). Litestar has no public hook after it builds the
    document, so the app's OpenAPI plugin becomes a subclass that finishes it as it builds
    it (same slots: only its class changes). `prepare` runs first (the routes' derived
    problem answers, sandbox/api/openapi_errors.py).

    Built on first use (/schema, `sandbox openapi`), not with the app: it is 0.3-0.4 s of
    CPU that every API process paid at start, before its first /ready, for a document most
    processes never serve (`sandbox bench --startup`, docs/benchmark.md)."""
    from litestar._openapi.plugin import OpenAPIPlugin

    class FinishedOpenAPIPlugin(OpenAPIPlugin):
        __slots__ = ()

        def provide_openapi(self):
            if self._openapi is None:
                prepare()
                openapi = self._build_openapi()
                adjust(openapi)
                self._openapi = openapi
            return self._openapi

        def provide_openapi_schema(self) -> dict[str, Any]:
            if self._openapi_schema is None:
                self._openapi_schema = finish(msgspec.to_builtins(self.provide_openapi().to_schema()))
            return self._openapi_schema

    app.plugins.get(OpenAPIPlugin).__class__ = FinishedOpenAPIPlugin


def finish(spec: dict) -> dict:
    schemas = spec["components"]["schemas"]
    _optional_bodies(spec)
    _destination_shapes(schemas)
    _problem_codes(schemas)
    _closed_sets(schemas)
    _struct_words(schemas)
    _bounds(spec)
    _always_sent(spec)
    _defaults_in_words(spec)
    _junit_answers(spec)
    event_streams(spec)
    spec["webhooks"] = _webhooks(schemas)
    return _nullable_enums(_portable(spec))


def _nullable_enums(node: Any) -> Any:  # any JSON value
    """An optional `Literal` as a `oneOf` of the enum and null, as every other nullable
    field is stated: Litestar writes `type: ["null", "string"]` with null among the enum's
    values, which openapi-python-client turns into three copies of one enum class."""
    if isinstance(node, dict):
        values = node.get("enum")
        if values and None in values and isinstance(node.get("type"), list):
            rest = {k: v for k, v in node.items() if k not in ("enum", "type")}
            kinds = [t for t in node["type"] if t != "null"]
            enum = {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": [v for v in values if v is not None]}
            return {**rest, "oneOf": [enum, {"type": "null"}]}
        return {k: _nullable_enums(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_nullable_enums(v) for v in node]
    return node


BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
          "minItems", "maxItems")


def _bounds(spec: dict) -> None:
    """What a request body's Struct enforces, stated as msgspec (which enforces it) states
    it: Litestar drops a bound of 0 (`ge=0` tests false) and the length and pattern of a
    constrained string inside an optional field that has a description of its own (a
    step's `reason`), so the spec would call valid what the API refuses."""
    schemas = spec["components"]["schemas"]
    structs = _sandbox_structs()
    for name in _request_components(spec):
        if name not in structs:
            continue
        (_,), defs = schema_components([structs[name]])
        for prop, rule in defs[name].get("properties", {}).items():
            target = schemas[name].get("properties", {}).get(prop)
            if target is not None:
                _copy_bounds(rule, target)


def _always_sent(spec: dict) -> None:
    """An answer's Struct sends every field, defaults included (unless it says
    `omit_defaults`): each is required in the spec, as Litestar marks only the fields
    without a default. Request bodies keep their optional fields optional."""
    from sandbox.payouts.model.schemas import DESTINATION_OUT_SHAPES

    schemas = spec["components"]["schemas"]
    # The destination's shapes only describe `Destination`, which omits what is unset.
    asked = _request_components(spec) | {shape.__name__ for shape in DESTINATION_OUT_SHAPES}
    for name, struct in _sandbox_structs().items():
        node = schemas.get(name)
        if name in asked or node is None or "properties" not in node or struct.__struct_config__.omit_defaults:
            continue
        node["required"] = sorted(node["properties"])


def _defaults_in_words(spec: dict) -> None:
    """A request field's default said in its description, not as `default`: generators
    read `default` as "always there" (openapi-typescript, by default, makes such a field
    required), so the guides' minimal bodies would not compile in a typed client. The
    server fills the default in either way."""
    schemas = spec["components"]["schemas"]
    for name in _request_components(spec):
        for prop in (schemas.get(name) or {}).get("properties", {}).values():
            if "default" not in prop:
                continue
            default = prop.pop("default")
            if default is None:  # said by the field being optional and nullable
                continue
            said = f"Default: `{json.dumps(default)}`."
            prop["description"] = f"{prop['description'].rstrip('.')}. {said}" if prop.get("description") else said


def _copy_bounds(rule: dict, target: dict) -> None:
    """`rule`'s bounds onto `target`, and each option's of a union onto the target's option
    of the same type (a string or a list of names: the gate's `require_coverage`), the
    items' too."""
    target.update({k: rule[k] for k in BOUNDS if k in rule})
    options = [o for o in rule.get("anyOf", []) if o.get("type") != "null"]
    targets = [o for o in target.get("oneOf", target.get("anyOf", [])) if o.get("type") != "null"]
    if len(options) == 1 and len(targets) == 1:
        pairs = [(options[0], targets[0])]
    else:
        by_type = {o.get("type"): o for o in targets}
        pairs = [(o, by_type[o.get("type")]) for o in options
                 if len(by_type) == len(targets) and o.get("type") in by_type]
    for option, into in pairs:
        into.update({k: option[k] for k in BOUNDS if k in option})
        if isinstance(option.get("items"), dict) and isinstance(into.get("items"), dict):
            into["items"].update({k: option["items"][k] for k in BOUNDS if k in option["items"]})


def _sandbox_structs() -> dict[str, type]:
    found, todo = {}, [msgspec.Struct]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("sandbox."):
            found.setdefault(cls.__name__, cls)
    return found


def _request_components(spec: dict) -> set[str]:
    """The components a request body refers to, directly or through others."""
    names: set[str] = set()
    todo = [op.get("requestBody") for item in spec["paths"].values() for op in item.values()
            if isinstance(op, dict) and op.get("requestBody")]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in names:
                    names.add(name)
                    todo.append(spec["components"]["schemas"].get(name))
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return names


# Operations that answer JUnit XML instead of JSON with `?format=junit`.
JUNIT_OPERATIONS = ("auditWebhookReceiver", "getWebhookAudit")


def _junit_answers(spec: dict) -> None:
    """The receiver audit answers JUnit XML on `?format=junit`; Litestar knows only the
    JSON answer the handler is annotated with."""
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") in JUNIT_OPERATIONS:
                op["responses"]["200"]["content"]["application/xml"] = {
                    "schema": {"type": "string", "description": "JUnit XML: one testsuite, one testcase per case"}}
            if isinstance(op, dict) and op.get("operationId") == "judgeIntegration":  # on `Accept: application/xml`
                answer = op["responses"]["200"]
                answer["content"]["application/xml"] = {"schema": {
                    "type": "string", "description": "JUnit XML: a testsuite per merchant, a testcase per requirement"}}
                answer["headers"]["Sandbox-Gate-Held"]["schema"] = {"type": "string", "enum": ["true", "false"]}


def _optional_bodies(spec: dict) -> None:
    """A body declared `X | None = None` (cancel, reinitiate, the admin decisions) may be
    left out; Litestar still marks it required."""
    for item in spec["paths"].values():
        for op in item.values():
            body = op.get("requestBody") if isinstance(op, dict) else None
            schema = ((body or {}).get("content", {}).get("application/json") or {}).get("schema", {})
            if body and {"type": "null"} in schema.get("oneOf", []):
                body["required"] = False


def directory_codes() -> tuple[list[str], list[str]]:
    """Bank and wallet codes of the directory the sandbox seeds (seeds/directory.json)."""
    book = json.loads(SEED_DIRECTORY.read_text())
    return sorted(b["code"] for b in book["banks"]), sorted(w["code"] for w in book["wallets"])


def _destination_shapes(schemas: dict) -> None:
    """The destination, asked for and returned, as a `oneOf` of its shapes (each with its
    `type` as a constant, so a client narrows on it), codes as the directory's enums. The
    API decodes one Struct each way (a bank account and an IBAN share `type: "bank"`); the
    destination rules hold a body to exactly one of the request's shapes, and what is
    stored is that shape normalised."""
    from sandbox.payouts.model.schemas import DESTINATION_OUT_SHAPES, DESTINATION_SHAPES

    for union, shapes, closed in (("DestinationIn", DESTINATION_SHAPES, True),
                                  ("Destination", DESTINATION_OUT_SHAPES, False)):
        refs, defs = destination_shapes(shapes, "#/components/schemas/{name}")
        for name, node in defs.items():
            if closed:
                node["additionalProperties"] = False
                schemas[name] = node
            else:  # the shapes it shares with the request stay closed, as the request states them
                node.pop("additionalProperties", None)
                schemas.setdefault(name, node)
        schemas[union] = {"description": DESTINATION_WORDS[union], "oneOf": refs}


DESTINATION_WORDS = {
    "DestinationIn": "Where to pay: a bank account, an IBAN, a mobile wallet or a Raast alias (one shape each, "
                     "told apart by `type` and the fields present). The last four digits pick the scenario.",
    "Destination": "Where the payout goes, as stored: the shape it was asked for, normalised (an IBAN without "
                   "spaces and with its bank; a Raast alias with the bank account it resolved to). New destination "
                   "types may be added: treat a `type` you do not know as opaque.",
}


def destination_shapes(shapes: tuple[type, ...], ref_template: str) -> tuple[list[dict], dict]:
    """JSON Schemas of destination Structs, `bank_code` and `wallet_code` as the seeded
    directory's enums."""
    banks, wallets = directory_codes()
    refs, defs = schema_components(shapes, ref_template=ref_template)
    for node in defs.values():
        props = node["properties"]
        for field, codes in (("bank_code", banks), ("wallet_code", wallets)):
            if field in props:
                words = {k: v for k, v in props[field].items() if k == "description"}  # kept
                props[field] = {**words, "type": "string", "enum": codes}
    return list(refs), defs


def _problem_codes(schemas: dict) -> None:
    """`Problem.code` as the registry's closed set (every ApiError class's code); Litestar
    sees the Struct's plain `str`, since the classes live in every domain."""
    from sandbox.core.errors import problem_codes

    codes = {"type": "string", "enum": problem_codes()}
    for name in ("Problem", "CoverageErrorCode"):
        props = schemas[name]["properties"]
        words = {k: v for k, v in props["code"].items() if k == "description"}  # kept
        props["code"] = {**words, **codes}


def _struct_words(schemas: dict) -> None:
    """A schema's own words, from its Struct's docstring, for the Structs a field names bare:
    words on such a field would go on the shared schema, whichever field Litestar met last,
    so the spec would change between runs."""
    from sandbox.admin.schemas import MerchantRequests, ReviewTotals
    from sandbox.batches.schemas import PayoutBatch
    from sandbox.directory.schemas import RaastOut
    from sandbox.ledger.verify import BucketCheck
    from sandbox.payouts.model.scenarios import Review
    from sandbox.requests import har
    from sandbox.settlements.schemas import Settlement
    from sandbox.simulator.schemas import MerchantOut
    from sandbox.summary.schemas import SummaryTotals, Total
    from sandbox.teams.schemas import Team, TeamQuotas, TeamUsage
    from sandbox.webhooks.model.faults import Faults

    for struct in (MerchantOut, Faults, PayoutBatch, Settlement, har.Log, har.Creator, har.Request, har.Response,
                   har.Content, har.Timings, ReviewTotals, MerchantRequests, RaastOut, BucketCheck, SummaryTotals,
                   Total, Review, Team, TeamQuotas, TeamUsage):
        assert struct.__doc__, f"{struct.__name__} needs a docstring: it describes the schema"
        schemas[struct.__name__].setdefault("description", " ".join(struct.__doc__.split()))  # one paragraph


def _closed_sets(schemas: dict) -> None:
    """Closed sets a Struct types as `str` because its package may not import their
    source (clocks is below payouts; the ledger's kinds live in its service): a clock
    advance's transitions are between payout statuses, a ledger entry's bucket and kind
    are the ledger's."""
    from sandbox.ledger.service import KINDS, MERCHANT_BUCKETS
    from sandbox.payouts.model.states import STATUSES

    for name, prop, values in (("ClockTransition", "from", STATUSES), ("ClockTransition", "to", STATUSES),
                               ("LedgerEntryOut", "bucket", MERCHANT_BUCKETS), ("LedgerEntryOut", "kind", KINDS)):
        words = {k: v for k, v in schemas[name]["properties"][prop].items() if k == "description"}  # kept
        schemas[name]["properties"][prop] = {**words, "type": "string", "enum": list(values)}


def _webhooks(schemas: dict) -> dict:
    """One entry per event type: what the sandbox POSTs to an endpoint, the same schema
    as openapi/events/<type>.json with `data` pointing at the API's own components."""
    hooks, union = {}, {}
    for event_type, payload in event_payloads().items():
        envelope = event_schema(event_type, payload)
        for name, node in envelope.pop("$defs").items():
            schemas.setdefault(name, node)
        envelope.pop("$schema")
        envelope = json.loads(json.dumps(envelope).replace('"#/$defs/', '"#/components/schemas/'))
        name = "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"
        schemas[name] = envelope
        union[event_type] = f"#/components/schemas/{name}"
        hooks[event_type] = {"post": {
            "operationId": f"on_{event_type.replace('.', '_')}",
            "summary": f"`{event_type}`",
            "description": "Sent to each webhook endpoint subscribed to this type, signed with the Standard "
                           "Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`.",
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}},
            "responses": {"200": {"description": "Any 2xx acknowledges the event; anything else is retried"}},
        }}
    schemas["WebhookEvent"] = {
        "description": "Any webhook the sandbox sends, told apart by `type`. New event types may be added: "
                       "acknowledge (2xx) one you do not know and ignore it.",
        "oneOf": [{"$ref": ref} for ref in union.values()],
        "discriminator": {"propertyName": "type", "mapping": union},
    }
    _typed_events(schemas, union)
    return hooks


def _typed_events(schemas: dict, union: dict[str, str]) -> None:
    """`Event` (GET /events) as a `oneOf` by `type`, each with the `data` its webhook
    carries (a payout narrowed to the status its type names, a batch, a settlement): the
    Struct's `data` is a plain map, since one Struct stores every type. A webhook's own
    `data` schema becomes a component both refer to."""
    from sandbox.webhooks.model.event_types import TYPE_WORDS

    base = schemas.pop("Event")
    variants = {}
    for event_type, ref in union.items():
        webhook = schemas[ref.rsplit("/", 1)[-1]]
        name = ref.rsplit("/", 1)[-1].removesuffix("Event")
        data = webhook["properties"]["data"]
        if "$ref" not in data:
            schemas[f"{name}Data"] = data
            data = webhook["properties"]["data"] = {"$ref": f"#/components/schemas/{name}Data"}
        schemas[f"{name}EventRecord"] = {
            **{k: v for k, v in base.items() if k != "title"},
            "description": f"A stored `{event_type}` event",
            "properties": {**base["properties"], "type": {"const": event_type, "description": TYPE_WORDS},
                           "data": data},
        }
        variants[event_type] = f"#/components/schemas/{name}EventRecord"
    schemas["Event"] = {
        "description": "An event as GET /events lists it, told apart by `type`; `data` is the object as its GET "
                       "route showed it then. New event types may be added: skip one you do not know.",
        "oneOf": [{"$ref": ref} for ref in variants.values()],
        "discriminator": {"propertyName": "type", "mapping": variants},
    }


def _portable(node: Any) -> Any:  # any JSON value
    """Patterns as JavaScript (JSON Schema's dialect) reads them the way Python does: the
    Python-only end guard becomes a bare `$`, which in JavaScript already means the end,
    and `\\"` (a quote Python lets be escaped) a bare quote, which JavaScript's Unicode
    mode requires."""
    if isinstance(node, dict):
        return {k: v.replace(PYTHON_END, "$").replace('\\"', '"') if k == "pattern" and isinstance(v, str)
                else _portable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_portable(v) for v in node]
    return node


def event_payloads() -> dict[str, type]:
    """The Struct each event type's `data` is built from, by family (the part before
    the dot): the same Structs the API answers with. A new family without an entry
    here fails `render_events` (and so the drift test)."""
    from sandbox.batches.schemas import PayoutBatch
    from sandbox.payouts.model.schemas import Payout
    from sandbox.settlements.schemas import Settlement
    from sandbox.webhooks.model.event_types import EVENT_TYPES

    families = {"payout": Payout, "batch": PayoutBatch, "settlement": Settlement}
    missing = sorted({t for t in EVENT_TYPES if t.split(".")[0] not in families})
    if missing:
        raise LookupError(f"no payload Struct for event types {missing}: add their family to event_payloads()")
    return {t: families[t.split(".")[0]] for t in EVENT_TYPES}


def _tighten(defs: dict) -> None:
    """What the Structs type as plain strings but the wire promises more about:
    amounts and timestamps."""
    for node in defs.values():
        for prop, sub in (node.get("properties") or {}).items():
            if sub.get("type") != "string":
                continue
            if prop == "amount" or prop.endswith(("_amount", "_change")):
                sub["pattern"] = AMOUNT_PATTERN
            elif prop == "at" or prop.endswith("_at"):
                sub["format"] = "date-time"
        for prop, sub in (node.get("properties") or {}).items():
            nullable = sub.get("anyOf")
            if nullable and prop.endswith("_at") and {"type": "string"} in nullable:
                sub["anyOf"] = [{"type": "string", "format": "date-time"}, {"type": "null"}]


def implied_statuses(event_type: str) -> list[str]:
    """The payout statuses a `payout.*` event's `data` may have: the one its type names
    (`payout.success`), the initial ones for `payout.created`; none for other families."""
    from sandbox.payouts.model.states import INITIAL, STATUSES

    family, _, what = event_type.partition(".")
    if family != "payout":
        return []
    if what == "created":
        return [s for s in STATUSES if s in INITIAL]
    return [what] if what in STATUSES else []


def event_schema(event_type: str, payload: type) -> dict:
    from sandbox.idempotency.cause import RequestCause
    from sandbox.payouts.model.schemas import DESTINATION_OUT_SHAPES
    from sandbox.webhooks.model.event_types import EVENT_ID_WORDS, SEQUENCE_WORDS, TIMESTAMP_WORDS, TYPE_WORDS

    (data, request), defs = schema_components([payload, RequestCause], ref_template="#/$defs/{name}")
    _tighten(defs)
    if "Destination" in defs:
        refs, shapes = destination_shapes(DESTINATION_OUT_SHAPES, "#/$defs/{name}")
        defs.update(shapes)
        defs["Destination"] = {"description": DESTINATION_WORDS["Destination"], "oneOf": refs}
    implied = implied_statuses(event_type)
    if implied:
        # The payout itself, its status narrowed to what the type implies: a whole object,
        # not an `allOf` of the payout and a constant, which generated clients cannot merge
        # (openapi-python-client refuses it), so a typed client narrows `data.status` by `type`.
        node = defs[payload.__name__]
        words = "The payout's status when the event happened: " + " or ".join(f"`{s}`" for s in implied)
        words += ", its first status" if len(implied) > 1 else ", as the event's type says"
        status = {"const": implied[0]} if len(implied) == 1 else {"enum": implied}
        status = {**status, "description": words}
        data = {**{k: v for k, v in node.items() if k != "title"},
                "description": f"The {payload.__name__.lower()} as the API returns it; its status is "
                               f"{' or '.join(implied)}",
                "properties": {**node["properties"], "status": status}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type,
        "description": f"The body of a `{event_type}` webhook (Standard Webhooks envelope; `data` is the "
                       f"{payload.__name__} as the API returns it). Generated from the code by `sandbox openapi`.",
        "type": "object",
        "required": ["id", "type", "timestamp", "sequence", "data", "request"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_[0-9a-f]+$", "description": EVENT_ID_WORDS},
            "type": {"const": event_type, "description": TYPE_WORDS},
            "timestamp": {"type": "string", "format": "date-time", "description": TIMESTAMP_WORDS},
            "sequence": {"type": "integer", "minimum": 1, "description": SEQUENCE_WORDS},
            "data": data,
            "request": {"anyOf": [request, {"type": "null"}],
                        "description": "The API request that caused the event (its `X-Request-ID` and idempotency "
                                       "key); null when the sandbox did it on its own: a scenario step, the rail's "
                                       "callback, a clock"},
        },
        "additionalProperties": False,
        "$defs": defs,
    }
