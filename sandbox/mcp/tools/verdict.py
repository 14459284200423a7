"""What the integration did, as the sandbox judges it: the request log (redacted as the
API redacts it), the retry verdict on each injected fault, coverage, and the gate, which
is POST /sandbox/gate through the same client as `sandbox gate` (sandbox/client/gate.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from sandbox.client import answers
from sandbox.client import gate as gate_client
from sandbox.core.types import worded
from sandbox.coverage.asked import OPERATOR_PATHS, SAFE_RETRIES_MEANS
from sandbox.faults.kinds import MAX_DELAY_S, FaultKind
from sandbox.faults.schemas import FaultRule, Method
from sandbox.mcp.bounds import PAGE_DEFAULT, Cursor, Limit, segment
from sandbox.mcp.connection import Sandbox
from sandbox.mcp.tools.arguments import ID, KEY, Handle, IdempotencyKey, api_limits
from sandbox.mcp.tools.merchant import redacted
from sandbox.requests.controllers import Method as MethodFilter
from sandbox.requests.schemas import LoggedRequest, LoggedRequestPage
from sandbox.verdicts import report
from sandbox.verdicts.schemas import MAX_NAMES, RequirementName
from sandbox.verdicts.schemas import EndpointId as ApiEndpointId

REQUEST_ID_MOST = 128  # GET /sandbox/requests/{request_id}'s
PATH = worded(r"^/[\x21-\x7e]*$", "must be a path, like /api/v1/payouts")
RequestId = Annotated[str, Field(min_length=1, max_length=REQUEST_ID_MOST, pattern=KEY,
                                 description="the request's id: its X-Request-ID header")]
# The gate's names as POST /sandbox/gate takes them (sandbox/verdicts/schemas.py): its own
# type's lengths, its count.
COVERAGE = (f'"all" (every built-in scenario) or a list of names (scenarios and operator paths: '
            f'{", ".join(OPERATOR_PATHS)}), as POST /sandbox/gate takes it')
RequiredNames = Annotated[list[Annotated[str, Field(**api_limits(RequirementName))]], Field(max_length=MAX_NAMES)]


def register(app: MCPServer, sandbox: Sandbox) -> None:
    @app.tool()
    async def request_log(ctx: Context, request_id: RequestId, merchant: Handle = None) -> dict[str, Any]:
        """One API request of the merchant's as the sandbox logged it: method, route, status, duration,
        idempotency key and outcome (first, replayed, conflict, in_flight), the fault applied, the objects it
        made, and both bodies with every secret redacted as the API redacts it (long bodies are cut)."""
        logged = await sandbox.as_merchant(ctx, merchant, "GET", f"/sandbox/requests/{segment(request_id)}",
                                           into=LoggedRequest)
        return {"request": msgspec.to_builtins(logged)}

    @app.tool()
    async def list_requests(
        ctx: Context,
        method: Annotated[MethodFilter, Field(description="only this method: POST")] = None,
        path: Annotated[str | None, Field(max_length=200, pattern=PATH, description="a path prefix: /api/v1/payouts"
                                          )] = None,
        object_id: Annotated[str | None, Field(max_length=64, pattern=ID, description=(
            "requests that made or acted on this object (po_…)"))] = None,
        status: Annotated[int | None, Field(ge=100, le=599, description="only this HTTP status")] = None,
        with_idempotency_key: Annotated[str | None, Field(max_length=255, pattern=KEY, description=(
            "only requests that carried this idempotency key"))] = None,
        limit: Limit = PAGE_DEFAULT,
        cursor: Cursor = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """The merchant's logged API requests, newest first, paged: id, time, method, path, status,
        idempotency key and outcome, fault. Read one in full with request_log."""
        page = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/requests", into=LoggedRequestPage, params={
            "method": method, "path": path, "object_id": object_id, "status": status,
            "idempotency_key": with_idempotency_key, "limit": limit, "cursor": cursor})
        rows = [{"id": r.id, "at": r.at, "method": r.method, "path": r.path, "status": r.status,
                 "idempotency_key": r.idempotency_key, "idempotency_outcome": r.idempotency_outcome,
                 "fault": r.fault, "object_ids": r.object_ids} for r in page.data]
        return {"data": rows, "has_more": page.has_more, "next_cursor": page.next_cursor}

    @app.tool()
    async def inject_fault(
        ctx: Context,
        fault: Annotated[FaultKind, Field(description="before anything happens: unavailable, rate_limited, slow; "
                                                      "after the effect is committed: response_lost, timeout, "
                                                      "error_after_commit")],
        path: Annotated[str, Field(min_length=1, max_length=200, pattern=PATH,
                                   description="a route template or path prefix below /api/v1: /payouts")],
        method: Annotated[Method, Field(description="the method matched; * for any")] = "POST",
        times: Annotated[int, Field(ge=1, le=1000, description="how many matching requests it applies to")] = 1,
        delay_s: Annotated[float | None, Field(ge=0, le=MAX_DELAY_S, description="slow and timeout: how long "
                                                                                 "the answer is held")] = None,
        idempotency_key: IdempotencyKey = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """Make the merchant's next matching API requests fail, to test the integration's retries (the
        sandbox's fault rules). Every request of the merchant's counts, this server's tools' own included.
        After the fault, retry_verdict says whether the client recovered or paid twice."""
        body = {"fault": fault, "path": path, "method": method, "times": times, "delay_s": delay_s}
        rule = await sandbox.as_merchant(ctx, merchant, "POST", "/sandbox/faults", status=201, into=FaultRule,
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key)
        return {"rule": msgspec.to_builtins(rule)}

    @app.tool()
    async def retry_verdict(
        ctx: Context,
        request_id: Annotated[str | None, Field(max_length=200, pattern=KEY, description=(
            "only the fault on this request, or the retry that followed it"))] = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """For each write that got a fault after its commit (response_lost, timeout, error_after_commit): what
        the client did next, read from the request log: recovered (retried with the same key, or read the
        payout back, and answered), duplicated (paid the same account the same amount again, at any time after),
        or open; with the request and payout ids. Faults on reads are counted, never judged."""
        coverage = await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/coverage", into=dict)
        faults = coverage.get("faults", [])
        if request_id is not None:
            cases = [dict(case, kind=kind["kind"]) for kind in faults for case in kind["cases"]
                     if request_id in (case["request_id"], case.get("next_request_id"))]
            if not cases:
                raise ToolError(f"no faulted write on request {request_id!r}, nor a retry of one: a verdict is "
                                "made for writes that got a response_lost, timeout or error_after_commit fault (a "
                                "fault on a read, or on a write that committed nothing, is not judged): call "
                                "retry_verdict without request_id for every verdict there is")
            return {"cases": cases}
        said = "no write got an after-commit fault yet" if not any(k["injected"] for k in faults) else "; ".join(
            f"{k['kind']}: {k['injected']} faulted write(s), {k['recovered']} recovered, {k['duplicated']} "
            f"duplicated, {k['open']} open, {k['not_writes']} on requests that wrote nothing" for k in faults)
        return {"summary": said, "faults": faults}

    @app.tool()
    async def coverage(ctx: Context, merchant: Handle = None) -> dict[str, Any]:
        """What this merchant's integration has been tested against: scenarios reached to their end, event
        types its endpoints acknowledged (and only failed), error codes received, operator paths, faults."""
        return await sandbox.as_merchant(ctx, merchant, "GET", "/sandbox/coverage", into=dict)

    @app.tool()
    async def gate(
        ctx: Context,
        require_coverage: Annotated[Literal["all"] | RequiredNames | None, Field(description=COVERAGE)] = None,
        require_safe_retries: Annotated[bool, Field(description=SAFE_RETRIES_MEANS)] = False,
        audit_endpoint: Annotated[str | None, Field(pattern=ID, description="run the receiver audit on this endpoint",
                                                    **api_limits(ApiEndpointId))] = None,
        merchant: Handle = None,
    ) -> dict[str, Any]:
        """The CI verdict, as `sandbox gate` gives it: judge coverage, safe retries and the receiver for this
        merchant; held or fell short, and for each requirement what is missing and what to do."""
        key = sandbox.acting(ctx, merchant).key
        try:
            asked = gate_client.requirements(require_coverage, require_safe_retries, audit_endpoint)
            verdict = await gate_client.judge(sandbox.url, [key], asked)
        except gate_client.NothingToJudge as exc:
            raise ToolError(str(exc).replace("--require-coverage", "require_coverage").replace(
                "--require-safe-retries", "require_safe_retries").replace("--audit-endpoint", "audit_endpoint")) \
                from None
        except (answers.Refused, answers.NotTheApi, answers.Unreachable) as exc:
            raise ToolError(str(exc)) from None
        return {"held": verdict.held, "words": report.words(verdict, redacted(sandbox.url)),
                "verdict": msgspec.to_builtins(verdict)}
