"""Safe retries: the verdict and an oracle of its own agree on every generated history.

What each test drives:
- `test_the_judge_agrees_with_the_oracle_on_generated_logs`: SANDBOX_ORACLE_EXAMPLES
  histories (500 in the full suite, 60 in the fast lane; tests/conftest.py) of up to 14
  client actions (tests/verdicts/histories.py), each turned into the request log and the
  payouts the sandbox keeps, in memory; the judge (`requests.verdict.judge`, then
  `verdicts.judge.safe_retries`) and the oracle (tests/verdicts/oracles.py) read them.
  No database: about a millisecond a history.
- `test_the_api_agrees_with_the_oracle_over_http`: a few histories (a twentieth as many,
  at least 4) played over HTTP against a fresh merchant on a manual clock; the oracle reads
  the request log the API answers (GET /sandbox/requests) and its payouts (GET /payouts),
  and POST /sandbox/gate and GET /sandbox/coverage must say what it says. This holds the
  generated logs above to the API's own."""

from __future__ import annotations

import json
import os
from functools import cache

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.api.app import create_app
from sandbox.idempotency import paying
from sandbox.payouts.model.destinations import account_of
from sandbox.requests import verdict
from sandbox.verdicts import judge
from tests.clocks.test_clocks import manual_merchant
from tests.verdicts import oracles
from tests.verdicts.histories import AMOUNTS, HISTORIES, SENT, play

EXAMPLES = int(os.environ["SANDBOX_ORACLE_EXAMPLES"])


@cache
def paying_routes() -> paying.Declared:
    """The routes the app declares can pay, as the API's verdict reads them."""
    return paying.of_app(create_app())


def judged(log: list[dict], payouts: dict[str, dict]) -> tuple[list[verdict.FaultVerdicts], judge.Finding]:
    facts = {i: verdict.PayoutFact(i, p["number"], p["amount"], account_of(p["destination"]), p["reference"])
             for i, p in payouts.items()}
    kinds = verdict.judge(log, facts, declared=paying_routes())
    return kinds, judge.safe_retries([{"merchant_id": "mch_x", "faults": msgspec.to_builtins(kinds)}])


def assert_agree(kinds: list[verdict.FaultVerdicts], finding: judge.Finding, oracle: oracles.RetryOracle) -> None:
    cases = {c.request_id: (c.verdict, c.duplicate_payout_id, c.next_request_id if c.verdict == "recovered" else None)
             for k in kinds for c in k.cases}
    assert cases == oracle.cases
    assert sum(k.not_writes for k in kinds) == oracle.not_writes
    assert finding.held is oracle.held, finding.said
    for request_id, (said, duplicate, by) in oracle.cases.items():
        if said == "duplicated":  # each second payout named, with the write it followed
            assert any(f"was paid again as {duplicate} (fault " in d and f"on request {request_id}," in d
                       for d in finding.details)
        elif said == "recovered" and not any(v == "duplicated" for v, _, _ in oracle.cases.values()):
            assert any(f"(request {request_id}, " in d and d.endswith(f" by request {by}") for d in finding.details)


@settings(max_examples=EXAMPLES, deadline=None)
@given(history=HISTORIES)
def test_the_judge_agrees_with_the_oracle_on_generated_logs(history):
    played = play(history)
    kinds, finding = judged(played.log, played.payouts)
    assert_agree(kinds, finding, oracles.safe_retries(played.log, played.payouts))


# Over HTTP: what a client can do against the API in a few requests each (no `timeout`
# fault: it holds the answer 30 s).
HTTP_FAULTS = st.sampled_from([None, None, "response_lost", "error_after_commit", "unavailable"])
HTTP_ACTIONS = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, len(SENT) - 1), st.sampled_from(AMOUNTS),
              st.sampled_from([None, "ref-a"]), HTTP_FAULTS),
    st.tuples(st.just("retry"), st.integers(0, 5), st.booleans(), HTTP_FAULTS),
    st.tuples(st.just("read"), st.integers(0, 5), HTTP_FAULTS),
    st.tuples(st.just("read_reference"), st.sampled_from(["ref-a", "ref-b"]), HTTP_FAULTS),
    st.tuples(st.just("advance"), st.sampled_from([0, 61, 601, 3600]), HTTP_FAULTS),
)


async def send(api, method: str, path: str, *, key: str | None = None, body: dict | None = None,
               fault: str | None = None) -> httpx.Response | None:
    headers = {**({"X-Idempotency-Key": key} if key else {}), **({"X-Sandbox-Fault": fault} if fault else {})}
    try:
        return await api.http.request(method, path, json=body, headers=headers)
    except httpx.TransportError:
        return None


async def run_over_http(api, history: list[tuple]) -> None:
    pays: list[tuple[str, dict]] = []
    made: list[str] = []
    for n, (kind, *args) in enumerate(history):
        if kind == "pay":
            sent, amount, reference, fault = args
            body = {"amount": amount, "destination": SENT[sent], **({"reference": reference} if reference else {})}
            pays.append((f"key-{n}-{os.urandom(4).hex()}", body))
            await send(api, "POST", "/payouts", key=pays[-1][0], body=body, fault=fault)
        elif kind == "retry" and pays:
            index, same_body, fault = args
            key, body = pays[index % len(pays)]
            await send(api, "POST", "/payouts", key=key, body=body if same_body else {**body, "amount": "99.00"},
                       fault=fault)
        elif kind == "read":
            index, fault = args
            made = [p["id"] for p in (await api.get("/payouts", params={"limit": 100})).json()["data"]][::-1]
            await send(api, "GET", f"/payouts/{made[index % len(made)] if made else 'po_nowhere'}", fault=fault)
        elif kind == "read_reference":
            reference, fault = args
            await send(api, "GET", f"/payouts?reference={reference}", fault=fault)
        elif kind == "advance":
            seconds, fault = args
            await send(api, "POST", "/sandbox/clock/advance", key=f"adv-{n}-{os.urandom(4).hex()}",
                       body={"seconds": seconds}, fault=fault)


async def raw_facts(api) -> tuple[list[dict], dict[str, dict]]:
    """The request log, oldest first, as the oracle reads it, and the payouts by id."""
    entries = (await api.get("/sandbox/requests", params={"limit": 100})).json()["data"][::-1]
    log = []
    for e in entries:
        made = None
        if e["method"] == "POST" and e["route"] == "/api/v1/payouts" and 200 <= e["status"] < 300:
            made = json.loads(e["response_body"])["id"]
        log.append({**e, "payout_id": made})
    payouts = {p["id"]: {"amount": p["amount"], "destination": p["destination"], "reference": p["reference"]}
               for p in (await api.get("/payouts", params={"limit": 100})).json()["data"]}
    return log, payouts


@settings(max_examples=max(4, EXAMPLES // 20), deadline=None, suppress_health_check=list(HealthCheck))
@given(history=st.lists(HTTP_ACTIONS, min_size=2, max_size=7))
async def test_the_api_agrees_with_the_oracle_over_http(stack, history):
    api = await manual_merchant(stack)
    try:
        await run_over_http(api, history)
        log, payouts = await raw_facts(api)
        # The reads of the log and the payouts above are in it too: judged as reads, after everything.
        oracle = oracles.safe_retries(log, payouts)
        coverage = (await api.get("/sandbox/coverage")).json()
        cases = {c["request_id"]: (c["verdict"], c["duplicate_payout_id"],
                                   c["next_request_id"] if c["verdict"] == "recovered" else None)
                 for f in coverage["faults"] for c in f["cases"]}
        assert cases == oracle.cases
        assert sum(f["not_writes"] for f in coverage["faults"]) == oracle.not_writes
        gate = (await api.http.post("/sandbox/gate", json={"require_safe_retries": True})).json()
        assert gate["held"] is oracle.held, gate
    finally:
        await api.aclose()


@pytest.mark.parametrize("sent", range(len(SENT)))
def test_the_oracles_account_is_the_judges_for_every_destination_sent(sent):
    from tests.verdicts.histories import stored

    first = stored(SENT[0])
    assert (account_of(stored(SENT[sent])) == account_of(first)) is (
        oracles.account(stored(SENT[sent])) == oracles.account(first))
