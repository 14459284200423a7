"""Two teams' merchants and a third team's probe: with its key, the third team sees nothing
of the other two anywhere the admin key reaches (the admin routes, the gate, the dashboard);
another team's merchant or payout answers exactly as a missing one. Each team's key still
does what the admin key does for its own merchants, and the operator's key sees them all."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from sandbox.client.blocking import tls
from tests.helpers import payout_body
from tests.security.test_hostile_dashboard import Browser
from tests.teams.conftest import new_team_merchant

REVIEW_AMOUNT = "150000.00"  # at or above the review threshold: the payout waits in_review


def _as_missing(answer: dict, real_id: str, missing_id: str) -> dict:
    """The problem with its request id dropped and the probed id written as the missing one."""
    return {k: (v.replace(real_id, missing_id) if isinstance(v, str) else v)
            for k, v in answer.items() if k != "request_id"}


@pytest.fixture
async def two_teams(stack, make_team):
    """Teams A and B, each with a merchant whose one payout waits for review."""
    out = []
    for name in ("A", "B"):
        team, _ = await make_team(name)
        merchant = await new_team_merchant(stack, team)
        r = await merchant.post("/payouts", payout_body(REVIEW_AMOUNT))
        assert r.status_code == 201 and r.json()["status"] == "in_review", r.text
        merchant.payout_id = r.json()["id"]
        out.append((team, merchant))
    yield out
    for _, merchant in out:
        await merchant.aclose()


async def test_a_third_team_sees_nothing_of_two_others_in_the_api(two_teams, make_team, admin):
    probe, _ = await make_team("C")
    theirs = [m for _, m in two_teams]
    their_ids = {m.merchant_id for m in theirs}

    listed = (await probe.get("/admin/payouts", params={"limit": 100})).json()
    assert listed["data"] == []
    for m in theirs:
        assert (await probe.get("/admin/payouts", params={"merchant_id": m.merchant_id})).json()["data"] == []
    assert (await probe.get("/admin/payouts/requests")).json()["data"] == []
    assert not their_ids & {r["merchant_id"] for r in (await probe.get("/admin/retention")).json()["data"]}

    for m in theirs:
        for action in ("approve", "reject", "release"):
            real = await probe.post(f"/admin/payouts/{m.payout_id}/{action}", {"reason": "probe"})
            missing = await probe.post(f"/admin/payouts/po_missing000000000000000/{action}", {"reason": "probe"})
            assert real.status_code == missing.status_code == 404
            assert _as_missing(real.json(), m.payout_id, "po_missing000000000000000") == \
                _as_missing(missing.json(), "", "")
        for method, path, body in (("GET", "/admin/merchants/{}/rate-limit", None),
                                   ("PUT", "/admin/merchants/{}/rate-limit", {"requests_per_minute": 1}),
                                   ("DELETE", "/admin/merchants/{}/rate-limit", None),
                                   ("PUT", "/admin/merchants/{}/keep", {"keep": True})):
            answers = []
            for merchant_id in (m.merchant_id, "mch_missing"):
                if method == "GET":
                    r = await probe.get(path.format(merchant_id))
                elif method == "DELETE":
                    r = await probe.delete(path.format(merchant_id))
                else:
                    r = await probe.http.put(path.format(merchant_id), json=body,
                                             headers={"X-Idempotency-Key": f"k-{method}-{merchant_id}-{path}"})
                answers.append(r)
            real, missing = answers
            assert real.status_code == missing.status_code == 404, (path, real.text)
            assert _as_missing(real.json(), m.merchant_id, "mch_missing") == _as_missing(missing.json(), "", "")
        # The gate judges only merchants it may see: another team's is unknown, as a missing one.
        real = await probe.http.post("/sandbox/gate", json={"require_safe_retries": True,
                                                             "merchants": [m.merchant_id]})
        missing = await probe.http.post("/sandbox/gate", json={"require_safe_retries": True,
                                                                "merchants": ["mch_missing"]})
        assert real.status_code == missing.status_code == 404
        assert _as_missing(real.json(), m.merchant_id, "mch_missing") == _as_missing(missing.json(), "", "")
        together = await probe.http.post("/sandbox/gate", json={"require_safe_retries": True, "together": True,
                                                                 "merchants": [m.merchant_id]})
        assert together.status_code == 404

    # Nothing of theirs changed by the probe.
    for m in theirs:
        assert (await m.get(f"/payouts/{m.payout_id}")).json()["status"] == "in_review"
        assert (await admin.get(f"/admin/merchants/{m.merchant_id}/rate-limit")).json()["requests_per_minute"] is None

    # A team key is not the operator's: it makes no teams and lists none.
    assert (await probe.get("/admin/teams")).json()["code"] == "forbidden"
    assert (await probe.post("/admin/teams", {"name": "mine"})).status_code == 403


async def test_each_team_key_acts_on_its_own_and_the_operator_on_all(two_teams, admin):
    (a, ma), (b, mb) = two_teams
    for team, mine, other in ((a, ma, mb), (b, mb, ma)):
        listed = {p["id"] for p in (await team.get("/admin/payouts", params={"limit": 100})).json()["data"]}
        assert listed == {mine.payout_id}
        requests = {r["merchant_id"] for r in (await team.get("/admin/payouts/requests")).json()["data"]}
        assert requests == {mine.merchant_id}
        judged = await team.http.post("/sandbox/gate", json={"require_safe_retries": True,
                                                              "merchants": [mine.merchant_id]})
        assert judged.status_code == 200, judged.text
        assert (await team.get(f"/admin/merchants/{other.merchant_id}/rate-limit")).status_code == 404
    approved = await a.post(f"/admin/payouts/{ma.payout_id}/approve", {"reason": "ok"})
    assert approved.status_code == 200 and approved.json()["status"] == "pending"
    everyone = {p["id"] for p in (await admin.get("/admin/payouts", params={"limit": 100})).json()["data"]}
    assert {ma.payout_id, mb.payout_id} <= everyone
    assert (await admin.post(f"/admin/payouts/{mb.payout_id}/reject", {"reason": "ok"})).status_code == 200


async def test_a_third_team_sees_nothing_of_two_others_in_the_dashboard(stack, two_teams, make_team):
    probe, _ = await make_team("C")
    theirs = [m for _, m in two_teams]
    browser = Browser(stack.base_url)
    try:
        await browser.sign_in(probe.key)
        for page in ("/", "/review", "/payouts", "/merchants"):
            r = await browser.http.get(page)
            assert r.status_code == 200, (page, r.text[:300])
            text = html.unescape(r.text)
            for m in theirs:
                assert m.merchant_id not in text and m.payout_id not in text, page
        for m in theirs:
            real = await browser.http.get(f"/payouts/{m.payout_id}")
            missing = await browser.http.get("/payouts/po_missing000000000000000")
            assert real.status_code == missing.status_code == 404
            volatile = r"req_\w+|po_\w+|form_[\w-]+"  # ids, and the form key every page makes anew
            assert re.sub(volatile, "", real.text) == re.sub(volatile, "", missing.text)
            refused = await browser.http.get(f"/payouts?merchant={m.merchant_id}")
            assert m.payout_id not in refused.text
        # The team's own merchant's payout is there for it.
        own = await new_team_merchant(stack, probe)
        mine = (await own.post("/payouts", payout_body(REVIEW_AMOUNT))).json()["id"]
        assert mine in (await browser.http.get("/review")).text
        assert (await browser.http.get(f"/payouts/{mine}")).status_code == 200
        await own.aclose()
    finally:
        await browser.http.aclose()


async def test_a_team_keys_pact_provider_states_make_the_teams_merchants(stack, make_team, database):
    from sandbox import db

    team, _ = await make_team("pact")
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url, timeout=30) as http:
        for key, expected in ((team.key, team.team_id), (stack.admin_key, "team_operator")):
            r = await http.post("/api/v1/sandbox/pact/states", headers={"X-Sandbox-Admin-Key": key},
                                json={"state": "a merchant", "params": {}, "action": "setup"})
            assert r.status_code == 200, r.text
            assert await db.fetchval("SELECT team FROM merchant WHERE id = $1", r.json()["merchantId"]) == expected
