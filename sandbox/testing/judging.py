"""`sandbox gate`'s reads: for each merchant key, what the judge needs from a running
sandbox (its coverage, the scenario table, the receiver audit of one endpoint), then the
verdict. The judging itself is `sandbox.verdicts.judge`, which the pytest plugin's gates
call too.

Each key is judged on its own: a merchant per CI job is the unit, and a testsuite per
merchant is what the JUnit report shows."""

from __future__ import annotations

import httpx

from sandbox.testing.client import Refused, api_client, expect
from sandbox.verdicts import judge
from sandbox.verdicts.report import MerchantVerdict, Verdict

AUDIT_TIMEOUT_S = 90  # longer than the audit's own bound (about 30 s against a receiver that hangs)


class CannotJudge(Exception):
    """The gate could not judge (a key refused, an endpoint no key owns): never a verdict
    on the integration."""


def _owner_of(clients: list[httpx.Client], endpoint_id: str) -> int:
    for i, client in enumerate(clients):
        answer = client.get(f"/webhook-endpoints/{endpoint_id}")
        if answer.status_code == 200:
            return i
        if answer.status_code != 404:
            raise Refused(answer, 200)
    raise CannotJudge(f"no merchant among the keys given has the webhook endpoint {endpoint_id}")


def judge_keys(url: str, keys: list[str], coverage: str | None, safe_retries: bool,
               audit_endpoint: str | None) -> Verdict:
    clients = [api_client(url, key) for key in keys]
    try:
        answers = []
        for key, client in zip(keys, clients, strict=True):
            answer = client.get("/sandbox/coverage")
            if answer.status_code in (401, 403):
                raise CannotJudge(f"the key {key[:12]}… was refused: {Refused(answer, 200)}")
            answers.append(expect(answer, 200))
        # `all` is the built-in table, the same for every key (and the plugin's, read with the
        # admin key): the first key's table also lists its merchant's own scenarios, which
        # would have the other keys judged on them. A merchant's own is gated by name.
        table = expect(clients[0].get("/sandbox/scenarios"), 200)["scenarios"]
        scenario_names = [s["name"] for s in table if not s.get("custom")]
        findings: list[list[judge.Finding]] = [[] for _ in keys]
        for found, answer in zip(findings, answers, strict=True):
            if coverage:
                found.append(judge.coverage(coverage, scenario_names, [answer]))
            if safe_retries:
                found.append(judge.safe_retries([answer]))
        if audit_endpoint:
            owner = _owner_of(clients, audit_endpoint)
            audit = expect(clients[owner].post(f"/webhook-endpoints/{audit_endpoint}/audit",
                                               timeout=AUDIT_TIMEOUT_S), 200)
            findings[owner].append(judge.receiver_audit(audit))
        return Verdict(url, [MerchantVerdict(answer["merchant_id"], found)
                             for answer, found in zip(answers, findings, strict=True)])
    finally:
        for client in clients:
            client.close()
