"""What POST /sandbox/gate takes and answers. The same types are the CLI's and the pytest
plugin's reading of the answer (`msgspec` decodes into them), so a client takes nothing
the spec does not document."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from sandbox.coverage.asked import EVERY_SCENARIO, EVERY_SCENARIO_MEANS, OPERATOR_PATHS, SAFE_RETRIES_MEANS

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
        Annotated[str, msgspec.Meta(max_length=64, description='"all"')]
        | Annotated[list[RequirementName], msgspec.Meta(max_length=MAX_NAMES)] | None,
        msgspec.Meta(description=COVERAGE_ASKED)] = None
    require_safe_retries: Annotated[bool, msgspec.Meta(
        description=SAFE_RETRIES_MEANS[0].upper() + SAFE_RETRIES_MEANS[1:])] = False
    audit_endpoint: Annotated[EndpointId, msgspec.Meta(
        description="A webhook endpoint (we_…) whose receiver audit runs now, up to about 30 s")] | None = None
    merchants: Annotated[list[MerchantId], msgspec.Meta(
        max_length=MAX_MERCHANTS,
        description="The admin key only, and required with it: the merchants to judge, each on its own")] | None = None
    # Judge the merchants as one integration (a test session's merchants, one per test):
    # the answer's `together` holds that verdict, and `merchants` is empty.
    together: Annotated[bool, msgspec.Meta(
        description="The admin key: judge the merchants as one integration; the answer's `together` holds that "
                    "verdict")] = False


RequirementKind = Literal["coverage", "safe_retries", "receiver_audit"]


class GateRequirement(msgspec.Struct):
    name: Annotated[RequirementKind, msgspec.Meta(description="Which requirement")]
    held: Annotated[bool, msgspec.Meta(description="Whether it held")]
    reason: Annotated[str, msgspec.Meta(description="One sentence: what held, or what fell short")]
    details: Annotated[list[str], msgspec.Meta(
        description="One line each: a payout paid twice, a faulted write recovered, a failed audit case, what to "
                    "do")] = []
    missing: Annotated[list[str], msgspec.Meta(
        description="Coverage: the scenarios not reached and operator paths not taken (`reason` says which)")] = []


class GateMerchant(msgspec.Struct):
    merchant_id: Annotated[str, msgspec.Meta(description="The merchant judged")]
    held: Annotated[bool, msgspec.Meta(description="Every requirement held for it")]
    requirements: Annotated[list[GateRequirement], msgspec.Meta(description="Each requirement's verdict")]


class GateTogether(msgspec.Struct):
    merchant_ids: Annotated[list[str], msgspec.Meta(description="The merchants judged as one integration")]
    held: Annotated[bool, msgspec.Meta(description="Every requirement held for them together")]
    requirements: Annotated[list[GateRequirement], msgspec.Meta(description="Each requirement's verdict")]


class GateVerdict(msgspec.Struct, omit_defaults=True):
    """`held` is true only when every requirement held for every merchant judged."""

    held: Annotated[bool, msgspec.Meta(description="Every requirement held for every merchant judged; the "
                                                     "`Sandbox-Gate-Held` header says the same")]
    merchants: Annotated[list[GateMerchant], msgspec.Meta(description="Each merchant's verdict (empty with "
                                                                        "`together`)")]
    together: Annotated[GateTogether, msgspec.Meta(
        description="With `together`: the merchants' verdict as one integration")] | None = None
