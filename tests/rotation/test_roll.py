"""Rolling a merchant's or a team's key (POST /admin/merchants/{id}/keys/roll, POST
/admin/teams/{id}/keys/roll): a new key at once, the old one working through the overlap
only, and 0 revoking it at once. Across two API processes: tests/process/test_rotation.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import Api
from tests.teams.conftest import new_team_merchant


async def _status(stack, key: str) -> int:
    api = Api(stack.base_url, key)
    try:
        return (await api.get("/balance")).status_code
    finally:
        await api.aclose()


async def test_a_merchant_key_rolled_with_no_overlap_is_refused_at_once(stack, admin, merchant):
    r = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {"overlap_minutes": 0})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["previous_keys"] == 1 and body["api_key"].startswith("sk_test_") and body["api_key"] != merchant.key
    assert await _status(stack, merchant.key) == 401
    assert await _status(stack, body["api_key"]) == 200


async def test_during_the_overlap_both_keys_work_and_its_end_is_said(stack, admin, merchant):
    before = datetime.now(UTC)
    r = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {"overlap_minutes": 90})
    assert r.status_code == 201, r.text
    ends = datetime.fromisoformat(r.json()["previous_keys_expire_at"])
    assert before + timedelta(minutes=89) < ends < before + timedelta(minutes=91)
    assert (await _status(stack, merchant.key), await _status(stack, r.json()["api_key"])) == (200, 200)
    # Rolled again with no overlap: both earlier keys stop now, the newest works.
    again = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})
    assert again.status_code == 201 and again.json()["previous_keys"] == 2, again.text
    assert [await _status(stack, k) for k in (merchant.key, r.json()["api_key"], again.json()["api_key"])] == \
        [401, 401, 200]


async def test_a_retried_roll_gives_the_same_new_key_and_rolls_once(stack, admin, merchant):
    path = f"/admin/merchants/{merchant.merchant_id}/keys/roll"
    first = await admin.post(path, {"overlap_minutes": 5}, idem="roll-once")
    again = await admin.post(path, {"overlap_minutes": 5}, idem="roll-once")
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["api_key"] == first.json()["api_key"]
    assert await _status(stack, first.json()["api_key"]) == 200


async def test_a_team_key_is_rolled_by_the_operator_only(stack, admin, make_team):
    team, made = await make_team("rolled")
    other, _ = await make_team("other")
    assert (await team.post(f"/admin/teams/{made['id']}/keys/roll", {})).status_code == 403
    r = await admin.post(f"/admin/teams/{made['id']}/keys/roll", {"overlap_minutes": 0})
    assert r.status_code == 201, r.text
    assert r.json()["api_key"].startswith("sk_admin_")
    assert (await team.get("/admin/payouts")).status_code == 401
    new = Api(stack.base_url, r.json()["api_key"])
    try:
        assert (await new.get("/admin/payouts")).status_code == 200
    finally:
        await new.aclose()
    assert (await other.get("/admin/payouts")).status_code == 200  # another team's key is untouched


async def test_a_team_key_rolls_its_own_merchants_only(stack, make_team, merchant):
    team, _ = await make_team("roller")
    own = await new_team_merchant(stack, team)
    try:
        own_id = own.merchant_id  # pyright: ignore[reportAttributeAccessIssue] - set by new_team_merchant
        assert (await team.post(f"/admin/merchants/{own_id}/keys/roll", {})).status_code == 201
        foreign = await team.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})
        assert foreign.status_code == 404 and foreign.headers["content-type"] == "application/problem+json"
        assert await _status(stack, merchant.key) == 200
    finally:
        await own.aclose()


async def test_bad_rolls_are_refused_with_a_problem_and_change_nothing(stack, admin, merchant):
    for body in ({"overlap_minutes": -1}, {"overlap_minutes": 10081}, {"overlap_minutes": "5"}, {"other": 1}):
        r = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", body)
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", (body, r.text)
    assert (await admin.post("/admin/merchants/mch_nobody/keys/roll", {})).status_code == 404
    assert (await admin.post("/admin/teams/team_nobody/keys/roll", {})).status_code == 404
    operator = await admin.post("/admin/teams/team_operator/keys/roll", {})
    assert operator.status_code == 409 and "SANDBOX_ADMIN_KEY" in operator.json()["detail"], operator.text
    assert await _status(stack, merchant.key) == 200
