"""Surfaces a shared sandbox bounds: /metrics answers the operator's key only and names
teams by id; a team key cannot raise a merchant's rate limit past the operator's ceiling."""

from __future__ import annotations

import httpx

from sandbox.client.blocking import tls
from tests.helpers import new_team


def _problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code, problem
    return problem


async def test_metrics_answer_only_the_operators_key_and_name_teams_by_id(stack, admin, merchant):
    team = await new_team(stack, admin, "Acme Payments QA")
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url) as http:
        words = _problem(await http.get("/metrics"), 401, "unauthenticated")["detail"]
        assert "operator's key" in words and "Authorization: Bearer" in words, words
        _problem(await http.get("/metrics", headers={"Authorization": "Bearer sk_admin_" + "x" * 40}),
                 401, "unauthenticated")
        _problem(await http.get("/metrics", headers={"X-API-KEY": merchant.key}), 403, "forbidden")
        _problem(await http.get("/metrics", headers={"Authorization": f"Bearer {team.key}"}), 403, "forbidden")
        for headers in ({"X-API-KEY": stack.admin_key}, {"Authorization": f"Bearer {stack.admin_key}"}):
            r = await http.get("/metrics", headers=headers)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
            assert f'sandbox_team_merchants{{team="{team.team_id}"}}' in r.text
            assert "Acme Payments QA" not in r.text
    await team.aclose()


async def test_a_team_key_cannot_raise_a_rate_limit_past_the_operators_ceiling(stack, admin, monkeypatch):
    team = await new_team(stack, admin, "ceiling")
    made = await team.post("/sandbox/merchants", {"name": "limited"})
    merchant_id = made.json()["merchant"]["id"]
    path = f"/admin/merchants/{merchant_id}/rate-limit"

    # Unset, the ceiling is the operator's default (1000/second: 60,000 a minute).
    problem = _problem(await team.put(path, {"requests_per_minute": 1_000_000}), 422, "above_ceiling")
    assert "past the operator's ceiling for team keys: 60000 a minute (SANDBOX_RATE_LIMIT_CEILING 1000/second)" \
        in problem["detail"], problem
    read = (await team.get(path)).json()
    assert read["requests_per_minute"] is None and read["team_ceiling_per_minute"] == 60_000  # nothing changed
    assert (await team.put(path, {"requests_per_minute": 60_000})).json()["requests_per_minute"] == 60_000
    # The operator's key is not bound by it.
    assert (await admin.put(path, {"requests_per_minute": 1_000_000})).json()["requests_per_minute"] == 1_000_000

    monkeypatch.setenv("SANDBOX_RATE_LIMIT_CEILING", "100/second")
    problem = _problem(await team.put(path, {"requests_per_minute": 6001}), 422, "above_ceiling")
    assert "6000 a minute (SANDBOX_RATE_LIMIT_CEILING 100/second)" in problem["detail"], problem
    assert (await team.get(path)).json()["requests_per_minute"] == 1_000_000  # the refusal changed nothing
    assert (await team.put(path, {"requests_per_minute": 6000})).status_code == 200
    assert (await team.http.delete(path, headers={"X-Idempotency-Key": "back-to-default"})).status_code == 200
    await team.aclose()
