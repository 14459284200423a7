"""POST /sandbox/gate: the verdict on one or more merchants, from what the sandbox knows
of them (their coverage, a receiver audit run now), judged by `sandbox.verdicts.judge`.

A request the gate cannot judge is refused before anything runs, naming why: nothing
required, a name no merchant judged knows, a merchant that does not exist, an endpoint
that is not one of theirs. A verdict is never held by default, never held on nothing."""

from __future__ import annotations

import msgspec

from sandbox import db
from sandbox.auth.principal import Principal
from sandbox.core.errors import ApiError, NotFound, ValidationFailed, listing
from sandbox.coverage import service as coverage
from sandbox.coverage.asked import EVERY_SCENARIO, OPERATOR_PATHS, every_scenario
from sandbox.teams import scope as teams
from sandbox.verdicts import judge
from sandbox.verdicts.schemas import GateMerchant, GateRequest, GateRequirement, GateTogether, GateVerdict
from sandbox.webhooks.audit import audits


class NothingToJudge(ApiError):
    status, code, title = 422, "nothing_to_judge", "The gate was asked to judge nothing"


class UnknownRequirement(ApiError):
    status, code, title = 422, "unknown_requirement", "The gate was asked for what the sandbox does not know"


class Asked(msgspec.Struct, frozen=True):
    coverage: str | None  # "all", or the names comma-separated, as judge.coverage takes them
    names: tuple[str, ...]  # the names asked for ("all": none)
    safe_retries: bool
    endpoint: str | None


def asked(body: GateRequest) -> Asked:
    """The requirements, or NothingToJudge when they name nothing (an empty list, a blank
    name: a CI variable that expanded to nothing must never make a verdict held)."""
    names: tuple[str, ...] = ()
    required = body.require_coverage
    if isinstance(required, str):
        if not required.strip():
            raise NothingToJudge("require_coverage is blank: name \"all\" or a list of scenarios")
    elif required is not None:
        names = tuple(n.strip() for n in required)
        if not names or not all(names):
            raise NothingToJudge("require_coverage names nothing" if not names else
                                 "require_coverage has a blank name: every name must name a scenario or "
                                 "operator path")
    endpoint = body.audit_endpoint
    if endpoint is not None:
        endpoint = endpoint.strip()
        if not endpoint:
            raise NothingToJudge("audit_endpoint is blank: name a webhook endpoint, we_…")
    if required is None and not body.require_safe_retries and endpoint is None:
        raise NothingToJudge("Nothing to judge: name require_coverage, require_safe_retries and/or audit_endpoint")
    return Asked(EVERY_SCENARIO if isinstance(required, str) else ",".join(names) if required is not None else None,
                 names, body.require_safe_retries, endpoint)


async def _merchants(principal: Principal, body: GateRequest) -> list[str]:
    """The merchants judged: the caller's own with a merchant key, the named ones with the
    admin key (each must exist and, with a team key, be its team's: another team's merchant
    is as unknown as a missing one)."""
    if principal.merchant_id is not None:
        if body.merchants is not None:
            raise ValidationFailed.field("merchants", "is for the admin key: a merchant key judges its own merchant")
        if body.together:  # an admin field as `merchants` is: refused the same way, not ignored
            raise ValidationFailed.field("together", "is for the admin key: a merchant key judges its own merchant")
        return [principal.merchant_id]
    if not body.merchants:
        raise ValidationFailed.field("merchants", "name the merchants to judge (the admin key judges no merchant "
                                                  "of its own)")
    named = list(dict.fromkeys(body.merchants))
    found = await teams.visible(named, teams.of(principal))
    if unknown := [m for m in named if m not in found]:
        raise NotFound(f"No merchant {listing(unknown)}")
    return named


def _check_names(names: tuple[str, ...], judged: list[tuple[list[str], dict]]) -> None:
    """Each name must be known to each merchant (or group) judged: a built-in scenario, one
    of its own, or an operator path. Else the gate could not judge: 422 naming them."""
    for merchant_ids, answer in judged:
        known = [s["name"] for s in answer["scenarios"]]
        unknown = [n for n in names if n not in known and n not in OPERATOR_PATHS]
        if unknown:
            whose = "merchant " + merchant_ids[0] if len(merchant_ids) == 1 else "the merchants judged"
            raise UnknownRequirement(
                f"{listing(unknown)}: not a scenario of {whose} nor an operator path (scenarios: "
                f"{', '.join(known)}; operator paths: {', '.join(OPERATOR_PATHS)})")


async def _owner(endpoint_id: str, merchant_ids: list[str]) -> str:
    owner = await db.fetchval("SELECT merchant FROM webhook_endpoint WHERE id = $1 AND deleted_at IS NULL",
                              endpoint_id)
    if owner not in merchant_ids:  # another merchant's is answered as a missing one
        whose = f"of merchant {merchant_ids[0]}" if len(merchant_ids) == 1 else "of the merchants named"
        raise NotFound(f"No webhook endpoint {endpoint_id} {whose}")
    return owner


def _requirement(finding: judge.Finding) -> GateRequirement:
    return GateRequirement(name=finding.requirement, held=finding.held, reason=finding.said,  # type: ignore[arg-type]
                           details=finding.details, missing=finding.missing)


async def verdict(principal: Principal, body: GateRequest) -> GateVerdict:
    wanted = asked(body)
    merchant_ids = await _merchants(principal, body)
    answers = [msgspec.to_builtins(await coverage.of_merchant(m)) for m in merchant_ids]
    built_in = every_scenario()  # what "all" stands for: paths.EVERY_SCENARIO_MEANS
    if body.together:
        seen = list(dict.fromkeys(s["name"] for a in answers for s in a["scenarios"]))
        _check_names(wanted.names, [(merchant_ids, {"scenarios": [{"name": n} for n in seen]})])
    else:
        _check_names(wanted.names, [([m], a) for m, a in zip(merchant_ids, answers, strict=True)])
    owner = await _owner(wanted.endpoint, merchant_ids) if wanted.endpoint else None
    if not wanted.coverage and not wanted.safe_retries and not body.together and len(merchant_ids) > 1:
        others = [m for m in merchant_ids if m != owner]
        raise NothingToJudge(f"Nothing to judge for {listing(others)}: the receiver audit judges its endpoint's "
                             "merchant only; name that merchant alone, or require coverage or safe retries too")
    # Everything checked: the audit (which records a run) happens only for a judgeable request.
    audit = msgspec.to_builtins(await audits.run(owner, wanted.endpoint)) if owner and wanted.endpoint else None
    groups = [merchant_ids] if body.together else [[m] for m in merchant_ids]
    judged: list[tuple[list[str], list[judge.Finding]]] = []
    for group in groups:
        group_answers = [a for m, a in zip(merchant_ids, answers, strict=True) if m in group]
        found = []
        if wanted.coverage:
            found.append(judge.coverage(wanted.coverage, built_in, group_answers))
        if wanted.safe_retries:
            found.append(judge.safe_retries(group_answers))
        if audit is not None and owner in group:
            found.append(judge.receiver_audit(audit))
        judged.append((group, found))
    if body.together:
        [(group, found)] = judged
        together = GateTogether(merchant_ids=group, held=all(f.held for f in found),
                                requirements=[_requirement(f) for f in found])
        return GateVerdict(held=together.held, merchants=[], together=together)
    merchants = [GateMerchant(merchant_id=group[0], held=all(f.held for f in found),
                              requirements=[_requirement(f) for f in found]) for group, found in judged]
    return GateVerdict(held=all(m.held for m in merchants), merchants=merchants)
