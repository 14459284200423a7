"""The input shapes the gate (POST /sandbox/gate, `sandbox gate`, the MCP `gate` tool) and
the receiver audit (POST /webhook-endpoints/{id}/audit, `sandbox audit-webhooks`, the MCP
`audit_webhook_receiver` tool) model, in one place. Any other shape is refused before
anything is judged or sent: 422 `unmodelled_shape`, naming the shape and what is modelled
instead. A verdict is only ever made on a shape listed here, so `held` or `passed` never
stands for a requirement the sandbox did not judge (a `require_duplicates` it silently
skipped, a `window` it never applied, an audit of `cases` it never narrowed to).

The gate models three requirements and two admin fields; none takes a parameter and none
has a window. The receiver audit takes nothing: every case of its battery, the endpoint's
own URL and signing scheme."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from sandbox.core.errors import UnmodelledShape, clip, listing
from sandbox.coverage.asked import EVERY_SCENARIO, OPERATOR_PATHS

ENDPOINT_ID = re.compile(r"we_[A-Za-z0-9_]{1,61}")  # a webhook endpoint's id, as `sandbox gate` checks it
GATE_MODELLED: dict[str, str] = {
    "require_coverage": f'"{EVERY_SCENARIO}", or a list of 1 to 100 names (each at most 64 characters) of '
                        "scenarios, the merchant's own included, and of operator paths "
                        f"({', '.join(OPERATOR_PATHS)})",
    "require_safe_retries": "true or false, with no parameters and no window: a faulted write retried or read "
                            "back, and no duplicate payout however late it comes",
    "audit_endpoint": "a webhook endpoint's id (we_…): the receiver audit of that endpoint, run now",
    "merchants": "the admin key: a list of merchant ids to judge",
    "together": "the admin key: true or false, judge the merchants as one integration",
}
"""Every key a gate request may hold, and what it may say. Duplicates are judged inside
`require_safe_retries` (a second payout to the same account for the same amount after a
faulted write), never as a requirement of their own."""


def _modelled_gate() -> str:
    return "; ".join(f"{key}: {said}" for key, said in GATE_MODELLED.items())


def gate_body(value: Any) -> None:
    """UnmodelledShape unless `value` (a gate request's JSON) is a shape GATE_MODELLED lists:
    an object of those keys only, each of its type and within its bounds."""
    from sandbox.verdicts.schemas import GateRequest

    if not isinstance(value, dict):
        raise UnmodelledShape(f"a gate request is a JSON object, not {type(value).__name__}; the gate models "
                              f"{_modelled_gate()}")
    if unknown := [k for k in value if k not in GATE_MODELLED]:
        raise UnmodelledShape(f"{listing(unknown)}: not a requirement or field the gate models (no requirement "
                              f"takes a parameter or a window); the gate models {_modelled_gate()}")
    try:
        msgspec.convert(value, GateRequest, strict=True)
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].split("[")[0].rstrip("`") if "$." in str(exc) else ""
        said = GATE_MODELLED.get(field)
        raise UnmodelledShape(f"{clip(str(exc), 200)}: " + (f"{field} is {said}" if said else
                                                              f"the gate models {_modelled_gate()}")) from None
    # Values of the right type that name no shape the gate models (a blank one is nothing
    # to judge, said by the service as such).
    coverage, endpoint = value.get("require_coverage"), value.get("audit_endpoint")
    if isinstance(coverage, str) and coverage.strip() not in ("", EVERY_SCENARIO):
        raise UnmodelledShape(f"require_coverage {clip(coverage, 64)!r}: require_coverage is "
                              f"{GATE_MODELLED['require_coverage']}")
    if isinstance(endpoint, str) and endpoint.strip() and not ENDPOINT_ID.fullmatch(endpoint.strip()):
        raise UnmodelledShape(f"audit_endpoint {clip(endpoint, 64)!r}: audit_endpoint is "
                              f"{GATE_MODELLED['audit_endpoint']}")
