"""A payout batch's rows count against the team's payouts a day as POST /payouts does: the
rows past the bound are `refused` items with the `quota_exceeded` reason (as rows past the
funds are), the others are made; two batches racing at the bound never pass it together;
the usage metric counts them."""

from __future__ import annotations

import asyncio
import secrets

from sandbox import redis_client
from sandbox.teams import quotas
from tests.batches.helpers import HEADER, items, upload_csv, wait_completed
from tests.helpers import payout_body
from tests.teams.conftest import new_team_merchant
from tests.teams.test_quotas import _metric, _refused


def _csv(prefix: str, n: int) -> str:
    return HEADER + "".join(f"{prefix}{i},10.00,bank,HBL,,,12345678900001,,quota\n" for i in range(n))


async def test_a_batch_crossing_the_day_bound_has_its_last_rows_refused(stack, make_team, worker):
    team, _ = await make_team("batchday", max_payouts_per_day=5)
    a = await new_team_merchant(stack, team)
    assert (await a.post("/payouts", payout_body())).status_code == 201  # 4 left
    r = await upload_csv(a, _csv("x", 6))
    assert r.status_code == 202, r.text
    done = await wait_completed(a, r.json()["id"])
    assert done["status"] == "completed_with_errors" and done["counts"]["refused"] == 2, done
    outcome = await items(a, done["id"])
    assert [i["status"] == "refused" for i in outcome] == [False] * 4 + [True] * 2
    for refused in outcome[4:]:
        assert refused["reason"].startswith(
            f"quota_exceeded: Team {team.team_id} made 5 payouts today (UTC), its quota (max_payouts_per_day 5)")
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 5
    # The day is used up for POST /payouts too.
    _refused(await a.post("/payouts", payout_body()), "max_payouts_per_day 5")
    await a.aclose()


async def test_a_batch_within_the_bound_is_made_whole_and_counted(stack, make_team, worker):
    team, _ = await make_team("batchok", max_payouts_per_day=10)
    a = await new_team_merchant(stack, team)
    r = await upload_csv(a, _csv("y", 7))
    done = await wait_completed(a, r.json()["id"])
    assert done["status"] == "completed" and done["counts"]["refused"] == 0, done
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 7
    assert (await a.post("/payouts", payout_body())).status_code == 201
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 8
    await a.aclose()


async def test_two_batches_racing_at_the_bound_do_not_pass_it_together(stack, make_team, worker):
    team, _ = await make_team("batchrace", max_payouts_per_day=9)
    a, b = await new_team_merchant(stack, team), await new_team_merchant(stack, team)
    ra, rb = await asyncio.gather(upload_csv(a, _csv("a", 6)), upload_csv(b, _csv("b", 6)))
    assert ra.status_code == rb.status_code == 202, (ra.text, rb.text)
    done = await asyncio.gather(wait_completed(a, ra.json()["id"]), wait_completed(b, rb.json()["id"]))
    assert sum(6 - d["counts"]["refused"] for d in done) == 9, done
    listed = len((await a.get("/payouts")).json()["data"]) + len((await b.get("/payouts")).json()["data"])
    assert listed == 9
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 9
    for api in (a, b):
        await api.aclose()


async def test_takers_racing_at_the_bound_are_granted_exactly_the_bound(stack):
    """The rule both paths share, many takers at once (chunks of several batches and single
    POST /payouts): together they are granted the bound, no more, and the count ends there."""
    team = f"team_race_{secrets.token_hex(6)}"
    granted = await asyncio.gather(*(quotas.take_payouts(team, 9, wanted) for wanted in [4, 3] * 10))
    assert sum(g.granted for g in granted) == 9, granted
    assert int(await redis_client.get().get(quotas.day_key(team))) == 9
    await redis_client.get().delete(quotas.day_key(team))


async def test_a_batch_of_an_unbounded_team_counts_in_its_day(stack, make_team, admin, worker):
    """Rows made while the team has no bound count too, so a bound set after them applies."""
    team, _ = await make_team("batchfree")
    a = await new_team_merchant(stack, team)
    done = await wait_completed(a, (await upload_csv(a, _csv("f", 4))).json()["id"])
    assert done["status"] == "completed", done
    assert await _metric(stack, "sandbox_team_payouts_today", team.team_id) == 4
    assert (await admin.put(f"/admin/teams/{team.team_id}/quotas", {"max_payouts_per_day": 4})).status_code == 200
    _refused(await a.post("/payouts", payout_body()), "max_payouts_per_day 4")
    await a.aclose()
