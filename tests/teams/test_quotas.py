"""A team's quotas, refused in words past the bound (403 `quota_exceeded`, naming the quota,
the usage and the bound), and its usage in /metrics: merchants, webhook endpoints, payouts
a day (a replayed idempotency key takes nothing from the day)."""

from __future__ import annotations

import asyncio
import re

import httpx

from sandbox.client.blocking import tls
from tests.helpers import metrics_text, payout_body
from tests.teams.conftest import new_team_merchant


def _refused(r: httpx.Response, words: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "quota_exceeded" and words in problem["detail"], problem


async def _metric(stack, name: str, team: str) -> float | None:
    text = await metrics_text(stack)
    found = re.search(rf'^{name}\{{team="{team}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None


async def test_merchants_past_the_bound_are_refused_in_words(stack, make_team):
    team, made = await make_team("small", max_merchants=2)
    assert made["quotas"]["max_merchants"] == 2
    for _ in range(2):
        await (await new_team_merchant(stack, team)).aclose()
    r = await team.post("/sandbox/merchants", {"name": "third"})
    _refused(r, f"Team {team.team_id} has 2 merchants, its quota (max_merchants 2)")
    assert await _metric(stack, "sandbox_team_merchants", team.team_id) == 2
    # The operator raises it; the next one is made at once.
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/api/v1") as http:
        raised = await http.put(f"/admin/teams/{team.team_id}/quotas", json={"max_merchants": 3},
                                headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": "raise-merchants"})
    assert raised.status_code == 200 and raised.json()["usage"]["merchants"] == 2, raised.text
    await (await new_team_merchant(stack, team)).aclose()


async def test_webhook_endpoints_count_over_the_teams_merchants(stack, make_team):
    team, _ = await make_team("hooks", max_webhook_endpoints=2)
    first, second = await new_team_merchant(stack, team), await new_team_merchant(stack, team)
    assert (await first.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/a"})).status_code == 201
    made = await second.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/b"})
    assert made.status_code == 201
    _refused(await first.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/c"}),
             f"Team {team.team_id} has 2 webhook endpoints, its quota (max_webhook_endpoints 2)")
    assert await _metric(stack, "sandbox_team_webhook_endpoints", team.team_id) == 2
    assert (await second.delete(f"/webhook-endpoints/{made.json()['id']}")).status_code in (200, 204)
    assert (await first.post("/webhook-endpoints", {"url": "http://127.0.0.1:9/c"})).status_code == 201
    for api in (first, second):
        await api.aclose()


async def test_payouts_a_day_past_the_bound_are_refused_and_a_replay_takes_nothing(stack, make_team, merchant):
    team, _ = await make_team("daily", max_payouts_per_day=2)
    a, b = await new_team_merchant(stack, team), await new_team_merchant(stack, team)
    first = await a.post("/payouts", payout_body(), idem="day-1")
    assert first.status_code == 201
    for _ in range(2):  # the same key again: the stored answer, no payout, nothing taken
        again = await a.post("/payouts", payout_body(), idem="day-1")
        assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    poor = await new_team_merchant(stack, team, opening_balance="0.00")
    assert (await poor.post("/payouts", payout_body())).json()["code"] == "insufficient_funds"  # nothing taken
    assert (await b.post("/payouts", payout_body())).status_code == 201
    _refused(await b.post("/payouts", payout_body()),
             f"Team {team.team_id} made 2 payouts today (UTC), its quota (max_payouts_per_day 2)")
    _refused(await a.post("/payouts", payout_body()), "max_payouts_per_day 2")
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 2
    assert len((await a.get("/payouts")).json()["data"]) == 1  # the refusals made nothing
    # The operator raises the bound: the team's keys, remembered by the API, carry the new one at once.
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/api/v1") as http:
        raised = await http.put(f"/admin/teams/{team.team_id}/quotas", json={"max_payouts_per_day": 3},
                                headers={"X-API-KEY": stack.admin_key, "X-Idempotency-Key": "raise-payouts"})
    assert raised.status_code == 200 and raised.json()["usage"]["payouts_today"] == 2, raised.text
    assert (await a.post("/payouts", payout_body())).status_code == 201
    _refused(await a.post("/payouts", payout_body()), "max_payouts_per_day 3")
    # Another team (here the operator's, without the quota) is not bounded by this one's.
    assert (await merchant.post("/payouts", payout_body())).status_code == 201
    for api in (a, b, poor):
        await api.aclose()


async def test_usage_and_quotas_are_in_the_metrics_and_the_operators_list(stack, make_team, admin):
    team, _ = await make_team("seen", max_merchants=5)
    await (await new_team_merchant(stack, team)).aclose()
    text = await metrics_text(stack)
    assert f'sandbox_team_quota{{quota="max_merchants",team="{team.team_id}"}} 5.0' in text
    assert f'sandbox_team_merchants{{team="{team.team_id}"}} 1.0' in text
    listed = {t["id"]: t for t in (await admin.get("/admin/teams")).json()["data"]}
    assert listed[team.team_id]["usage"] == {"merchants": 1, "payouts_today": 0, "webhook_endpoints": 0}
    assert "team_operator" in listed


async def test_a_payout_of_a_team_with_a_daily_bound_is_still_one_postgresql_round_trip(stack, make_team,
                                                                                       statements):
    """The day's count lives in Redis, and the bound travels with the cached key: the
    payout's own call to PostgreSQL stays the only one."""
    team, _ = await make_team("lean", max_payouts_per_day=10)
    merchant = await new_team_merchant(stack, team)
    assert (await merchant.post("/payouts", payout_body())).status_code == 201  # warms the caches
    statements.clear()
    assert (await merchant.post("/payouts", payout_body())).status_code == 201
    assert sum(statements.values()) == 1, statements
    await merchant.aclose()


async def test_a_bound_set_mid_day_applies_to_the_day_so_far(stack, make_team, admin):
    """The day is counted while the team is unbounded: 3 payouts made, then a bound of 3,
    and the next one is refused; the operator's list and /metrics said 3 all along."""
    team, _ = await make_team("unbounded")
    a = await new_team_merchant(stack, team)
    for _ in range(3):
        assert (await a.post("/payouts", payout_body())).status_code == 201
    listed = {t["id"]: t for t in (await admin.get("/admin/teams")).json()["data"]}
    assert listed[team.team_id]["usage"]["payouts_today"] == 3
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 3
    bound = await admin.put(f"/admin/teams/{team.team_id}/quotas", {"max_payouts_per_day": 3})
    assert bound.status_code == 200 and bound.json()["usage"]["payouts_today"] == 3, bound.text
    _refused(await a.post("/payouts", payout_body()),
             f"Team {team.team_id} made 3 payouts today (UTC), its quota (max_payouts_per_day 3)")
    assert len((await a.get("/payouts")).json()["data"]) == 3
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 3
    # Unbounded again, the count goes on from the day so far.
    assert (await admin.put(f"/admin/teams/{team.team_id}/quotas", {})).status_code == 200
    assert (await a.post("/payouts", payout_body())).status_code == 201
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 4
    await a.aclose()


async def test_the_day_stays_exact_under_parallel_creates_bounded_or_not(stack, make_team, admin):
    """50 payouts at once while unbounded are 50 in the day; a bound of 60 then lets
    exactly 10 of 50 more through."""
    team, _ = await make_team("parallel")
    a = await new_team_merchant(stack, team)

    async def many(n: int) -> list[int]:
        return [r.status_code for r in await asyncio.gather(*(a.post("/payouts", payout_body()) for _ in range(n)))]

    assert await many(50) == [201] * 50
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 50
    assert (await admin.put(f"/admin/teams/{team.team_id}/quotas", {"max_payouts_per_day": 60})).status_code == 200
    codes = await many(50)
    assert codes.count(201) == 10 and codes.count(403) == 40, codes
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 60
    listed = {t["id"]: t for t in (await admin.get("/admin/teams")).json()["data"]}
    assert listed[team.team_id]["usage"]["payouts_today"] == 60
    assert len((await a.get("/payouts", params={"limit": 100})).json()["data"]) == 60
    await a.aclose()
