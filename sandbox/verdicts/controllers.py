from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.datastructures import ResponseHeader
from litestar.params import JSONBody

from sandbox.core.errors import NotFound, checks
from sandbox.coverage.asked import EVERY_SCENARIO_MEANS, SAFE_RETRIES_MEANS
from sandbox.idempotency.body import BODY_SHAPE
from sandbox.idempotency.claims import READ_ONLY
from sandbox.verdicts import report, service, shapes
from sandbox.verdicts.schemas import GateRequest, GateVerdict
from sandbox.webhooks.audit import audits

# The judge operation's description in the spec; `all` is said in the words every door says it.
JUDGE = (
    "Judges the calling merchant (merchant key) or the merchants named in `merchants` (admin key), each "
    "on its own (`together: true`: as one integration), on what the body requires: `require_coverage` "
    f"(`\"all\"`: {EVERY_SCENARIO_MEANS}; or names of scenarios, a merchant's own included, and of operator paths: its "
    "payouts reached their end, took the path), `require_safe_retries` ("
    f"{SAFE_RETRIES_MEANS}), `audit_endpoint` (the receiver audit of that "
    "webhook endpoint, run now, up to about 30 s). Answers `held` and each requirement held or not with "
    "its reason; with `Accept: application/xml`, the same verdict as JUnit XML, which `sandbox gate "
    "--junit` writes too. Either way the header `Sandbox-Gate-Held` says `true` or `false`. A request "
    "that cannot be judged is a 4xx, never a verdict: a shape the gate does not model (422 `unmodelled_shape`: "
    "a key other than the three above and `merchants` and `together`; a parameter or a window on a "
    "requirement; a value of another type or out of bounds), nothing required (422 `nothing_to_judge`), a "
    "name the merchant does not know (422 "
    "`unknown_requirement`), a merchant or endpoint not found (404)."
)


class GateController(Controller):
    path = "/sandbox/gate"
    tags = ["Sandbox tools"]

    # A verdict changes nothing (the receiver audit it may run is recorded, as every audit
    # is): no idempotency key. Either role: a merchant key judges its merchant, the admin
    # key the merchants it names.
    @post("", operation_id="judgeIntegration", status_code=200, opt={READ_ONLY: True, BODY_SHAPE: shapes.gate_body},
          summary="The CI verdict: coverage, safe retries, the receiver audit", description=JUDGE,
          responses=checks(NotFound, service.NothingToJudge, service.UnknownRequirement, shapes.UnmodelledShape,
                           audits.AuditInProgress),
          response_headers=[ResponseHeader(name=report.HELD_HEADER, description="`true` when the verdict held, "
                                           "else `false`: a CI step decides from it and keeps the body",
                                           documentation_only=True)])
    async def judge(self, request: Request, data: JSONBody[GateRequest]) -> Response[GateVerdict]:
        """See JUDGE: the operation's description in the spec."""
        if service.asked(data).endpoint:  # the audit sends a request per case on the merchant's behalf
            await audits.count_requests(request)
        verdict = await service.verdict(request.user, data)
        held = {report.HELD_HEADER: "true" if verdict.held else "false"}
        if request.accept.best_match(["application/json", report.MEDIA_TYPE],
                                     default="application/json") == report.MEDIA_TYPE:
            return Response(report.junit(verdict), media_type=report.MEDIA_TYPE, headers=held)  # type: ignore[return-value]
        return Response(verdict, headers=held)
