"""`sandbox gate` as a client of POST /api/v1/sandbox/gate: the sandbox judges, each
merchant key asks for its own merchant's verdict, and the answers (read through the
spec's `GateVerdict`) make one verdict: a testsuite per merchant, as the API answers it.

The CLI checks only what the sandbox cannot see: its option syntax (a blank list is
nothing to judge, a CI variable that expanded to nothing) and which key owns the audited
endpoint; every other refusal is the API's, in its words."""

from __future__ import annotations

import msgspec

from sandbox.client import answers
from sandbox.coverage.asked import EVERY_SCENARIO
from sandbox.guards.fingerprints import fingerprint
from sandbox.verdicts.schemas import GateRequest, GateVerdict

GATE = "/sandbox/gate"


class NothingToJudge(Exception):
    pass


def requirements(coverage: str | None, safe_retries: bool, endpoint: str | None) -> GateRequest:
    """The request body from the options; NothingToJudge when they ask for nothing."""
    required: str | list[str] | None = None
    if coverage is not None:
        if coverage.strip() == EVERY_SCENARIO:
            required = EVERY_SCENARIO
        else:
            required = [n.strip() for n in coverage.split(",") if n.strip()]
            if not required:
                raise NothingToJudge(f"nothing to judge: --require-coverage {coverage!r} names no scenario "
                                     "(all, or NAME,...)")
    if required is None and not safe_retries and endpoint is None:
        raise NothingToJudge("nothing to judge: --require-coverage, --require-safe-retries and/or --audit-endpoint")
    return GateRequest(require_coverage=required, require_safe_retries=safe_retries, audit_endpoint=endpoint)


async def _owner(url: str, keys: list[str], endpoint_id: str) -> str:
    """The key whose merchant has the endpoint: the API judges a merchant's own only."""
    for key in keys:
        async with answers.client(url, key) as http:
            answer = await answers.fetch(http, "GET", f"/webhook-endpoints/{endpoint_id}")
        if answer.status == 200:
            return key
        if answer.status != 404:
            raise answers.refusal(answer, 200)
    raise answers.NotTheApi(f"no merchant among the keys given has the webhook endpoint {endpoint_id}")


async def judge(url: str, keys: list[str], asked: GateRequest) -> GateVerdict:
    owner = await _owner(url, keys, asked.audit_endpoint) if asked.audit_endpoint and len(keys) > 1 else None
    merchants = []
    for key in keys:
        body = asked if owner in (None, key) else msgspec.structs.replace(asked, audit_endpoint=None)
        if not (body.require_coverage or body.require_safe_retries or body.audit_endpoint):
            continue  # only the audit was asked, and this key's merchant does not own the endpoint
        async with answers.client(url, key) as http:
            answer = await answers.fetch(http, "POST", GATE, json=msgspec.to_builtins(body))
        refused = answers.refusal(answer, 200) if answer.status in (401, 403) else None
        if isinstance(refused, answers.Refused):  # which of the keys, in a job that gives several
            raise answers.Refused(refused.asked, refused.status, refused.problem, who=f"the key {fingerprint(key)}")
        merchants += adds_up(answer, body, answers.decoded(answer, 200, GateVerdict)).merchants
    return GateVerdict(held=all(m.held for m in merchants), merchants=merchants)


def adds_up(answer: answers.Answer, asked: GateRequest, verdict: GateVerdict) -> GateVerdict:
    """A verdict on one merchant that judged what was asked, and is held only when each
    requirement held: anything else is not the API's answer (and never a pass)."""
    names = [n for n, wanted in (("coverage", asked.require_coverage), ("safe_retries", asked.require_safe_retries),
                                 ("receiver_audit", asked.audit_endpoint)) if wanted]
    merchant = verdict.merchants[0] if len(verdict.merchants) == 1 else None
    if merchant is None or sorted(r.name for r in merchant.requirements) != sorted(names) or \
            merchant.held != all(r.held for r in merchant.requirements) or verdict.held != merchant.held:
        raise answers.NotTheApi(f"{answer.asked} answered a verdict that does not add up (one merchant, judged on "
                                f"{', '.join(names)}, held only if each held): is this MyPay Sandbox's API?")
    return verdict


def as_json(verdict: GateVerdict) -> bytes:
    return msgspec.json.format(msgspec.json.encode(verdict), indent=2) + b"\n"
