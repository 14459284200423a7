"""`step_payouts`, the job that steps a group of a batch's payouts (their first step due
later than their chunk's commit): each payout moves as its own step job would move it,
and running the job again changes nothing."""

from sandbox.ledger.service import check_invariant
from sandbox.payouts.lifecycle.schedule import MAIN
from tests.helpers import payout_body
from worker.jobs import step_payouts


async def test_a_group_job_steps_each_payout_once(merchant):
    ids = []
    for account in ("12345678900001", "12345678900003", "12345678900001"):
        r = await merchant.post("/payouts", json=payout_body("10.00", account))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    assert await step_payouts({}, ids, MAIN, 0) == 3
    statuses = [(await merchant.get(f"/payouts/{i}")).json()["status"] for i in ids]
    assert statuses == ["success", "failed", "success"]  # time scale 0: each scenario to its end

    assert await step_payouts({}, ids, MAIN, 0) == 0  # run twice: nothing more happens
    assert [(await merchant.get(f"/payouts/{i}")).json()["status"] for i in ids] == statuses
    balance = (await merchant.get("/balance")).json()
    assert balance["locked"] == "0.00"
    assert await check_invariant(merchant.merchant_id) == []
