"""What POST /sandbox/gate takes and answers. The same types are the CLI's and the pytest
plugin's reading of the answer (`msgspec` decodes into them), so a client takes nothing
the spec does not document."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.coverage.asked import EVERY_SCENARIO, EVERY_SCENARIO_MEANS, OPERATOR_PATHS

# Lengths only: a blank name is "nothing to judge" and an unknown one is named as such by
# the service (a 422 each), which a pattern here would turn into a bare validation error.
RequirementName = Annotated[str, msgspec.Meta(max_length=64)]
EndpointId = Annotated[str, msgspec.Meta(max_length=64, description="A webhook endpoint's id, we_…")]
MerchantId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
MAX_NAMES = 100
COVERAGE_ASKED = (f'"{EVERY_SCENARIO}": {EVERY_SCENARIO_MEANS}. Or a list: names of scenarios (a merchant\'s own '
                  f"too), each reached its end, and of operator paths ({', '.join(OPERATOR_PATHS)}), each taken")
MAX_MERCHANTS = 10_000  # a test session makes a merchant per test


class GateRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Name at least one requirement. With a merchant key the calling merchant is judged
    (`merchants` is refused); with the admin key the merchants named in `merchants`."""

    # "all" (what it means: EVERY_SCENARIO_MEANS, said once); or the names of scenarios (a
    # merchant's own too) and operator paths (simulate, reinitiate, cancel, approve, reject, release).
    require_coverage: Annotated[
        Annotated[str, msgspec.Meta(max_length=64)] | Annotated[list[RequirementName], msgspec.Meta(
            max_length=MAX_NAMES)] | None,
        msgspec.Meta(description=COVERAGE_ASKED)] = None
    require_safe_retries: bool = False
    audit_endpoint: EndpointId | None = None
    merchants: Annotated[list[MerchantId], msgspec.Meta(max_length=MAX_MERCHANTS)] | None = None
    # Judge the merchants as one integration (a test session's merchants, one per test):
    # the answer's `together` holds that verdict, and `merchants` is empty.
    together: bool = False


RequirementKind = Literal["coverage", "safe_retries", "receiver_audit"]


class GateRequirement(msgspec.Struct):
    name: RequirementKind
    held: bool
    reason: str  # one sentence: what held, or what fell short
    details: list[str] = []  # one line each: a payout paid twice, a failed audit case, what to do
    missing: list[str] = []  # coverage: the scenarios not reached and operator paths not taken (`reason` says which)


class GateMerchant(msgspec.Struct):
    merchant_id: str
    held: bool
    requirements: list[GateRequirement]


class GateTogether(msgspec.Struct):
    merchant_ids: list[str]
    held: bool
    requirements: list[GateRequirement]


class GateVerdict(msgspec.Struct, omit_defaults=True):
    """`held` is true only when every requirement held for every merchant judged."""

    held: bool
    merchants: list[GateMerchant]
    together: GateTogether | None = None
