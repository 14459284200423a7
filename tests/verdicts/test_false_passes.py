"""Verdicts that once said "held" for what did not happen, each reproduced as a user meets
it, over HTTP: a fault on a read counted as a recovered write; a second payout to the same
account missed because its title was written in capitals, or because the merchant's clock
had moved past a window; a scenario counted as covered by a payout `simulate` forced to
another outcome."""

from __future__ import annotations

import httpx
import pytest

from tests.clocks.test_clocks import advance, manual_merchant
from tests.helpers import bank, payout_body, wait_for


async def gate(api, body: dict) -> dict:
    r = await api.http.post("/sandbox/gate", json=body)
    assert r.status_code == 200, r.text
    [merchant] = r.json()["merchants"]
    [requirement] = merchant["requirements"]
    return requirement


@pytest.fixture
async def clocked(stack):
    api = await manual_merchant(stack)
    api.merchant_id = (await api.get("/sandbox/coverage")).json()["merchant_id"]
    yield api
    await api.aclose()


async def test_a_fault_on_a_read_is_no_recovered_write(merchant):
    made = (await merchant.post("/payouts", payout_body())).json()
    with pytest.raises(httpx.TransportError):
        await merchant.get(f"/payouts/{made['id']}", headers={"X-Sandbox-Fault": "response_lost"})
    assert (await merchant.get(f"/payouts/{made['id']}")).status_code == 200
    said = await gate(merchant, {"require_safe_retries": True})
    assert said["held"] is False
    assert said["reason"].startswith("never tested: no faulted write was recovered")
    assert "1 fault(s) on requests that wrote nothing (a read, a refused or replayed write) are not judged" \
        in said["reason"]
    faults = {f["kind"]: f for f in (await merchant.get("/sandbox/coverage")).json()["faults"]}
    assert (faults["response_lost"]["injected"], faults["response_lost"]["recovered"],
            faults["response_lost"]["not_writes"]) == (0, 0, 1)


async def lost_then_paid_again(api, again: dict) -> tuple[str, str]:
    """A payout whose answer is lost, read back by id (a recovery, alone), then `again`
    under a new key: (first id, second id)."""
    with pytest.raises(httpx.TransportError):
        await api.post("/payouts", payout_body(), headers={"X-Sandbox-Fault": "response_lost"})
    [first] = (await api.get("/payouts")).json()["data"]
    assert (await api.get(f"/payouts/{first['id']}")).status_code == 200
    second = await api.post("/payouts", again)
    assert second.status_code == 201, second.text
    return first["id"], second.json()["id"]


@pytest.mark.parametrize("title", ["ALI RAZA", "  Ali   Raza ", None])
async def test_a_second_payout_to_the_same_account_under_another_title_is_paid_twice(merchant, title):
    destination = {**bank(), "account_title": title}
    first, second = await lost_then_paid_again(merchant, {**payout_body(), "destination": destination})
    said = await gate(merchant, {"require_safe_retries": True})
    assert said["held"] is False and said["reason"].startswith("a client paid twice after a fault")
    assert said["details"][0].startswith(f"merchant {merchant.merchant_id}: payout {first} was paid again as "
                                         f"{second} (fault response_lost on request ")
    assert "POST /api/v1/payouts: the same account and amount after it" in said["details"][0]


async def test_a_second_payout_after_the_clock_moved_past_ten_minutes_is_paid_twice(clocked):
    first, _ = await lost_then_paid_again(clocked, payout_body(amount="1.00"))  # another amount: no duplicate
    await advance(clocked, seconds=660)
    second = (await clocked.post("/payouts", payout_body())).json()
    said = await gate(clocked, {"require_safe_retries": True})
    assert said["held"] is False, said
    assert said["details"][0].startswith(f"merchant {clocked.merchant_id}: payout {first} was paid again as "
                                         f"{second['id']}")


async def test_a_payout_simulated_to_another_outcome_does_not_cover_its_scenario(clocked, worker):
    made = (await clocked.post("/payouts", payout_body(account="12345678900008"))).json()
    assert made["scenario"] == "failed_title_mismatch"
    await advance(clocked, seconds=1)  # submitted to the rail, processing; the failure is 2 s later

    async def submitted():
        return (await clocked.get(f"/payouts/{made['id']}")).json()["psp_reference"]
    await wait_for(submitted, what="submitted to the rail")
    r = await clocked.post(f"/sandbox/payouts/{made['id']}/simulate",
                           {"status": "failed", "failure_code": "account_closed"})
    assert r.status_code == 202, r.text

    async def failed():
        payout = (await clocked.get(f"/payouts/{made['id']}")).json()
        return payout["status"] == "failed"
    await wait_for(failed, what="simulated to failed")
    said = await gate(clocked, {"require_coverage": ["failed_title_mismatch"]})
    assert said["held"] is False
    assert said["reason"] == ("1 of 1 asked for fell short: failed_title_mismatch (started, simulated to `failed` "
                              "with `account_closed`)")
    [scenario] = [s for s in (await clocked.get("/sandbox/coverage")).json()["scenarios"]
                  if s["name"] == "failed_title_mismatch"]
    assert (scenario["payouts"], scenario["reached_end"], scenario["simulated_to"]) == (
        1, 0, ["failed with account_closed"])
