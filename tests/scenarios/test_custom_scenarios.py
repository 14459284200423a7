"""A merchant's own scenarios through the API: made, checked against the payout state
machine, listed, kept apart from other merchants, picked by suffix or name, and walked by
the worker and by a manual clock exactly like the built-in ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.clocks.test_clocks import advance, at, clock_time, manual_merchant
from tests.helpers import payout_body, reaches

# "The bank returns the payout two days later because the beneficiary's title does not
# match", after two timeouts at the rail.
RETURNED_LATER = {
    "name": "timeouts_then_returned_later",
    "title": "Two timeouts, paid, returned two days later",
    "description": "The rail times out twice, the third attempt is paid, and the bank returns it after two days.",
    "suffix": "7001",
    "steps": [
        {"status": "processing", "after_s": 1, "submit": True},
        {"status": "retrying", "after_s": 3, "reason": "rail_timeout"},
        {"status": "processing", "after_s": 5},
        {"status": "retrying", "after_s": 3, "reason": "rail_timeout"},
        {"status": "processing", "after_s": 10},
        {"status": "success", "after_s": 2},
        {"status": "returned", "after_s": 172800, "via": "ipn", "failure_code": "incorrect_account_holder_name"},
    ],
}


@pytest.fixture
async def clocked(stack):
    api = await manual_merchant(stack)
    yield api
    await api.aclose()


async def _create(api, body: dict, status: int = 201) -> dict:
    r = await api.post("/sandbox/scenarios", body)
    assert r.status_code == status, r.text
    return r.json()


async def _entries(api, payout_id: str) -> list[tuple[str, str, str]]:
    """(kind, bucket, amount) of the payout's ledger entries, oldest first."""
    page = (await api.get("/balance/history", params={"limit": 100})).json()
    return [(e["kind"], e["bucket"], e["amount"]) for e in reversed(page["data"]) if e["payout_id"] == payout_id]


async def _balance(api) -> tuple[str, str]:
    b = (await api.get("/balance")).json()
    return b["available"], b["locked"]


async def test_a_custom_scenario_walks_on_a_manual_clock_with_every_status_reason_and_ledger_leg(stack, clocked):
    made = await _create(clocked, RETURNED_LATER)
    assert made["custom"] is True and made["path"] == [
        "pending", "processing", "retrying", "processing", "retrying", "processing", "success", "returned"]
    start = await clock_time(clocked)
    opening = await _balance(clocked)
    payout = (await clocked.post("/payouts", payout_body("2500.00", account="12345678907001"))).json()
    assert payout["scenario"] == RETURNED_LATER["name"] and payout["status"] == "pending"
    created = [("payout_created", "available", "-2500.00"), ("payout_created", "locked", "2500.00")]
    assert await _entries(clocked, payout["id"]) == created

    # Each step lands at its exact clock time, one advance each.
    due = start
    expected_locked = created
    steps = RETURNED_LATER["steps"]
    for i, step in enumerate(steps):
        due += timedelta(seconds=step["after_s"])
        moved = await advance(clocked, seconds=step["after_s"])
        assert at(moved["time"]) == due
        assert [(t["to"], at(t["at"])) for t in moved["transitions"]] == [(step["status"], due)], (i, moved)
        now = (await clocked.get(f"/payouts/{payout['id']}")).json()
        assert now["status"] == step["status"]
        last = now["status_history"][-1]
        assert at(last["at"]) == due
        if step.get("reason"):
            assert last["reason"] == step["reason"]
        assert now["attempts"] == sum(1 for s in steps[:i + 1] if s["status"] == "processing")
        assert now["psp_reference"] is not None  # submitted by the first step
        entries = await _entries(clocked, payout["id"])
        if step["status"] == "success":
            expected_locked = created + [("payout_succeeded", "locked", "-2500.00")]
        if step["status"] == "returned":
            assert now["failure_code"] == "incorrect_account_holder_name"
            assert now["failure"]["iso_reason"] == "BE01"
            expected_locked = expected_locked + [("payout_returned", "available", "2500.00")]
        else:
            assert now["failure_code"] is None
        assert entries == expected_locked, (i, entries)
    # Paid and returned: the merchant has its money back, nothing locked.
    assert await _balance(clocked) == opening
    assert (await clocked.get("/sandbox/clock")).json()["next_step_at"] is None
    # Every event names the scenario the payout followed.
    events = (await clocked.get("/events", params={"payout_id": payout["id"], "limit": 100})).json()["data"]
    assert {e["data"]["scenario"] for e in events} == {RETURNED_LATER["name"]}
    assert len(events) == 1 + len(steps)


async def test_the_worker_walks_a_custom_scenario_picked_by_name(stack, worker, merchant):
    await _create(merchant, {"name": "three_timeouts_then_blocked", "title": "Blocked after three timeouts",
                             "steps": [{"status": "processing", "submit": True},
                                       {"status": "retrying", "reason": "rail_timeout"},
                                       {"status": "processing"}, {"status": "retrying", "reason": "rail_timeout"},
                                       {"status": "processing"}, {"status": "retrying", "reason": "rail_timeout"},
                                       {"status": "processing"},
                                       {"status": "failed", "failure_code": "account_frozen"}]})
    before = await _balance(merchant)
    r = await merchant.post("/payouts", payout_body(account="12345678900001", scenario="three_timeouts_then_blocked"))
    assert r.status_code == 201, r.text
    assert r.json()["scenario"] == "three_timeouts_then_blocked"  # the name wins over the suffix (…0001: success)
    done = await reaches(merchant, r.json()["id"], "failed")
    assert done["attempts"] == 4 and done["failure_code"] == "account_frozen"
    assert [h["status"] for h in done["status_history"]] == [
        "pending", "processing", "retrying", "processing", "retrying", "processing", "retrying", "processing",
        "failed"]
    assert await _balance(merchant) == before


async def test_the_bank_reports_a_custom_step_through_the_signed_callback(stack, worker, merchant):
    await _create(merchant, {"name": "bank_pays_by_callback", "title": "The bank answers", "suffix": "7002",
                             "steps": [{"status": "pending", "submit": True},
                                       {"status": "success", "after_s": 0.05, "via": "ipn"}]})
    r = await merchant.post("/payouts", payout_body(account="12345678907002"))
    paid = await reaches(merchant, r.json()["id"], "success")
    assert paid["status_history"][-1]["reason"] == "rail: success"  # the IPN service applied it


@pytest.mark.parametrize(("steps", "field", "words"), [
    ([{"status": "processing", "submit": True}, {"status": "returned"}], "steps[1]",
     "processing → returned is not a move of the payout state machine"),
    ([{"status": "success"}], "steps[0]", "success needs the payout submitted"),
    ([{"status": "processing", "submit": True}, {"status": "failed"}], "steps[1]", "failed needs a `failure_code`"),
    ([{"status": "processing", "submit": True}, {"status": "retrying"}], "steps[1]", "the steps end in retrying"),
    ([{"status": "processing", "submit": True}, {"status": "failed", "failure_code": "declined"},
      {"status": "pending"}], "steps[2]", "failed ends the steps"),
    ([{"status": "on_hold"}], "after_release", "give the steps an admin's release starts"),
    ([{"status": "success", "via": "ipn"}], "steps[0]", "after a step that submits"),
    ([{"status": "failed", "via": "ipn", "submit": True, "failure_code": "declined"}], "steps[0]",
     "after a step that submits (not on it)"),
])
async def test_an_impossible_timeline_is_a_422_naming_the_step_and_changes_nothing(merchant, steps, field, words):
    r = await merchant.post("/sandbox/scenarios", {"name": "broken", "title": "Broken", "steps": steps})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "impossible_timeline"
    assert problem["errors"][0]["field"] == field and words in problem["errors"][0]["message"], problem
    assert problem["detail"].startswith(field)
    listed = (await merchant.get("/sandbox/scenarios")).json()["scenarios"]
    assert "broken" not in {s["name"] for s in listed}


async def test_two_merchants_scenarios_stay_apart(merchant, other_merchant):
    await _create(merchant, {**RETURNED_LATER, "name": "mine_only"})
    assert "mine_only" in {s["name"] for s in (await merchant.get("/sandbox/scenarios")).json()["scenarios"]}
    theirs = (await other_merchant.get("/sandbox/scenarios")).json()["scenarios"]
    assert "mine_only" not in {s["name"] for s in theirs}
    # The other merchant's account ending 7001 follows the default, and may not name mine.
    r = await other_merchant.post("/payouts", payout_body(account="12345678907001"))
    assert r.json()["scenario"] == "success"
    r = await other_merchant.post("/payouts", payout_body(scenario="mine_only"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scenario", r.text
    assert (await other_merchant.delete("/sandbox/scenarios/mine_only")).status_code == 404
    # The same name and suffix are free for the other merchant.
    await _create(other_merchant, {**RETURNED_LATER, "name": "mine_only"})


async def test_names_and_suffixes_are_refused_when_taken(merchant):
    taken = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": "success", "suffix": None})
    assert taken.status_code == 409 and taken.json()["code"] == "scenario_taken", taken.text
    builtin_suffix = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "suffix": "0003"})
    assert builtin_suffix.status_code == 409 and "failed_account_closed" in builtin_suffix.json()["detail"]
    await _create(merchant, RETURNED_LATER)
    again = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": "another"})
    assert again.status_code == 409 and "suffix 7001" in again.json()["detail"], again.text
    same_name = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "suffix": "7009"})
    assert same_name.status_code == 409 and RETURNED_LATER["name"] in same_name.json()["detail"], same_name.text


async def test_the_number_of_scenarios_is_bounded_and_the_problem_says_the_limit(merchant, monkeypatch):
    monkeypatch.setenv("SANDBOX_SCENARIOS_MAX", "2")
    for n in range(2):
        await _create(merchant, {**RETURNED_LATER, "name": f"s{n}", "suffix": None})
    r = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": "s3", "suffix": None})
    assert r.status_code == 409 and "at most 2" in r.json()["detail"], r.text
    too_long = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": "long", "suffix": None,
                                                          "steps": [{"status": "processing", "submit": True}] * 21})
    assert too_long.status_code == 400 and "20" in too_long.text, too_long.text


async def test_deleting_a_scenario_leaves_the_payouts_on_it_theirs(stack, clocked):
    await _create(clocked, RETURNED_LATER)
    payout = (await clocked.post("/payouts", payout_body(account="12345678907001"))).json()
    assert (await clocked.delete(f"/sandbox/scenarios/{RETURNED_LATER['name']}")).status_code == 204
    # New payouts no longer pick it...
    fresh = (await clocked.post("/payouts", payout_body(account="12345678907001"))).json()
    assert fresh["scenario"] == "success"
    # ...the one already on it walks it to its end.
    await advance(clocked, until="idle")
    done = (await clocked.get(f"/payouts/{payout['id']}")).json()
    assert done["status"] == "returned" and done["scenario"] == RETURNED_LATER["name"]


async def test_concurrent_creations_never_pass_the_bound(merchant, monkeypatch):
    monkeypatch.setenv("SANDBOX_SCENARIOS_MAX", "3")
    answers = await asyncio.gather(*(merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": f"c{n}",
                                                                          "suffix": None}) for n in range(6)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [409] * 3


async def test_a_batch_row_and_a_reinitiation_pick_the_merchants_own_scenario_by_suffix(stack, worker, merchant):
    from tests.batches.helpers import items, upload_csv, wait_completed

    await _create(merchant, {"name": "declined_by_bank", "title": "Declined", "suffix": "7003",
                             "steps": [{"status": "processing", "submit": True},
                                       {"status": "failed", "failure_code": "declined"}]})
    await _create(merchant, {"name": "paid_in_a_moment", "title": "Paid", "suffix": "7004",
                             "steps": [{"status": "processing", "submit": True}, {"status": "success"}]})
    csv = ("reference,amount,type,bank_code,account_number,account_title\n"
           "own-1,10.00,bank,HBL,12345678907003,Ali Raza\n")
    batch = await wait_completed(merchant, (await upload_csv(merchant, csv)).json()["id"])
    payout_id = (await items(merchant, batch["id"]))[0]["payout_id"]
    failed = await reaches(merchant, payout_id, "failed")
    assert failed["scenario"] == "declined_by_bank" and failed["failure_code"] == "declined"
    # Reinitiated to a corrected account whose suffix picks another of the merchant's own.
    r = await merchant.post(f"/payouts/{payout_id}/reinitiate",
                            {"destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678907004"}})
    assert r.status_code == 200 and r.json()["scenario"] == "paid_in_a_moment", r.text
    await reaches(merchant, payout_id, "success")


@pytest.mark.parametrize("name", ["release", "approve", "reject", "all", "simulate", "reinitiate", "cancel"])
async def test_operator_paths_and_all_cannot_name_a_scenario(merchant, name):
    # Coverage and the gate read these words as operator paths and every scenario: a
    # scenario called `release` would make `--require-coverage release` hold unreleased.
    r = await merchant.post("/sandbox/scenarios", {**RETURNED_LATER, "name": name, "suffix": None})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    problem = r.json()
    assert problem["code"] == "scenario_taken" and "reserved" in problem["detail"], problem
    assert all(word in problem["detail"] for word in ("simulate", "reinitiate", "cancel", "approve", "reject",
                                                       "release", "all"))
    listed = (await merchant.get("/sandbox/scenarios")).json()["scenarios"]
    assert name not in {s["name"] for s in listed if s.get("custom")}
