"""GET /sandbox/coverage: what a merchant's integration has been tested against."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import payout_body, wait_for
from tests.webhooks.receiver import Receiver


async def coverage_of(api) -> dict:
    r = await api.get("/sandbox/coverage")
    assert r.status_code == 200, r.text
    return r.json()


async def test_fresh_merchant_has_exercised_nothing(merchant):
    cov = await coverage_of(merchant)
    assert cov["merchant_id"] == merchant.merchant_id
    assert cov["scenarios_reached"] == []
    assert {s["name"] for s in cov["scenarios"]} >= {"success", "awaiting_ipn", "on_hold"}
    assert all(s["payouts"] == 0 and s["reached_end"] == 0 for s in cov["scenarios"])
    assert [(p["name"], p["count"]) for p in cov["operator_paths"]] == [
        (name, 0) for name in ("simulate", "reinitiate", "cancel", "approve", "reject", "release")]
    assert cov["error_codes"] == [] and cov["event_types"] == []


async def test_scenarios_events_errors_and_operator_paths(stack, merchant, other_merchant, admin, worker):
    acking, failing = await Receiver().start(), await Receiver(responder=lambda _: (500, {}, b"no")).start()
    try:
        r = await merchant.post("/webhook-endpoints", {"url": acking.url(), "events": ["payout.success"],
                                                        "signing": "hmac-sha256"})
        assert r.status_code == 201, r.text
        r = await merchant.post("/webhook-endpoints", {"url": failing.url(), "events": ["payout.on_hold"],
                                                        "signing": "hmac-sha256"})
        assert r.status_code == 201, r.text

        paid = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()
        held = (await merchant.post("/payouts", payout_body(account="12345678900005"))).json()
        review = (await merchant.post("/payouts", payout_body(amount="150000.00"))).json()
        failed = (await merchant.post("/payouts", payout_body(account="12345678900003"))).json()

        async def status_is(payout_id: str, status: str):
            return (await merchant.get(f"/payouts/{payout_id}")).json()["status"] == status

        await wait_for(lambda: status_is(held["id"], "on_hold"), what="on_hold")
        assert (await admin.post(f"/admin/payouts/{held['id']}/release", {})).status_code == 200
        assert (await admin.post(f"/admin/payouts/{review['id']}/reject", {})).status_code == 200
        await wait_for(lambda: status_is(failed["id"], "failed"), what="failed")
        assert (await merchant.post(f"/payouts/{failed['id']}/reinitiate", {})).status_code == 200
        for payout_id in (paid["id"], held["id"]):
            await wait_for(lambda pid=payout_id: status_is(pid, "success"), what="success")
        # Two problems for this merchant, one for another: counts are per merchant.
        assert (await merchant.post("/payouts", {"amount": "1.00"})).status_code == 400
        assert (await merchant.get("/payouts/po_missing")).status_code == 404
        assert (await other_merchant.get("/payouts/po_missing")).status_code == 404

        async def settled():
            cov = await coverage_of(merchant)
            done = cov["events_acknowledged"] and cov["events_only_failed"] and len(cov["error_codes"]) == 2
            return cov if done else None

        cov = await wait_for(settled, what="deliveries and error counts")
    finally:
        await acking.stop()
        await failing.stop()

    by_name = {s["name"]: s for s in cov["scenarios"]}
    assert (by_name["success"]["payouts"], by_name["success"]["reached_end"]) == (2, 1)  # paid; review rejected
    assert (by_name["on_hold"]["payouts"], by_name["on_hold"]["reached_end"]) == (1, 1)
    assert by_name["failed_account_closed"]["reached_end"] == 1
    assert set(cov["scenarios_reached"]) == {"success", "on_hold", "failed_account_closed"}
    assert cov["events_acknowledged"] == ["payout.success"]
    assert cov["events_only_failed"] == ["payout.on_hold"]
    assert {e["code"]: e["count"] for e in cov["error_codes"]} == {"validation_error": 1, "not_found": 1}
    paths = {p["name"]: p["count"] for p in cov["operator_paths"]}
    assert paths == {"simulate": 0, "reinitiate": 1, "cancel": 0, "approve": 0, "reject": 1, "release": 1}
    other = await coverage_of(other_merchant)
    assert other["error_codes"] == [{"code": "not_found", "count": 1}]


async def test_simulate_and_cancel_are_operator_paths(merchant, worker):
    waiting = (await merchant.post("/payouts", payout_body(account="12345678900004"))).json()

    async def submitted():
        return (await merchant.get(f"/payouts/{waiting['id']}")).json()["psp_reference"]

    await wait_for(submitted, what="submitted to the rail")
    assert (await merchant.post(f"/sandbox/payouts/{waiting['id']}/simulate", {"status": "success"})).status_code == 202
    await wait_for(lambda: _paths(merchant, "simulate"), what="simulate counted")
    cov = await coverage_of(merchant)
    assert cov["scenarios_reached"] == ["awaiting_ipn"]


async def _paths(api, name: str) -> bool:
    return {p["name"]: p["count"] for p in (await coverage_of(api))["operator_paths"]}[name] > 0


async def test_cli_prints_coverage_as_tables(stack, merchant, capsys):
    import asyncio

    from sandbox.cli import main

    assert (await merchant.get("/payouts/po_missing")).status_code == 404
    with pytest.raises(httpx.TransportError):  # a fault on a read: counted, not judged
        await merchant.get("/balance", headers={"X-Sandbox-Fault": "response_lost"})
    await wait_for(lambda: _has_error(merchant), what="not_found counted")
    code = await asyncio.to_thread(main, ["coverage", "--key", merchant.key, "--url", stack.base_url])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Coverage of merchant {merchant.merchant_id}" in out
    assert any(line.split()[:3] == ["success", "never", "started"] for line in out.splitlines())
    assert any(line.split() == ["not_found", "1"] for line in out.splitlines())
    assert "  fault               writes  recovered  duplicated  open  not writes (not judged)" in out
    assert any(line.split() == ["response_lost", "0", "0", "0", "0", "1"] for line in out.splitlines())


async def _has_error(api) -> bool:
    return bool((await coverage_of(api))["error_codes"])


async def test_a_payout_reinitiated_to_another_account_covers_both_scenarios(merchant, worker):
    failed = (await merchant.post("/payouts", payout_body(account="12345678900003"))).json()

    async def status_of():
        return (await merchant.get(f"/payouts/{failed['id']}")).json()["status"]

    await wait_for(lambda: _is(status_of, "failed"), what="failed")
    again = {"destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001",
                             "account_title": "Ali Raza"}}
    assert (await merchant.post(f"/payouts/{failed['id']}/reinitiate", again)).status_code == 200
    await wait_for(lambda: _is(status_of, "success"), what="success after reinitiation")
    cov = await coverage_of(merchant)
    # The first scenario's path was walked before the account changed: it counts too.
    assert set(cov["scenarios_reached"]) == {"failed_account_closed", "success"}
    by_name = {s["name"]: s for s in cov["scenarios"]}
    assert by_name["failed_account_closed"]["reached_end"] == 1 and by_name["success"]["reached_end"] == 1
    assert {p["name"]: p["count"] for p in cov["operator_paths"]}["reinitiate"] == 1


async def _is(read, status: str) -> bool:
    return await read() == status


async def test_a_merchants_own_scenario_is_covered_and_only_for_it(stack, merchant, other_merchant, worker):
    r = await merchant.post("/sandbox/scenarios", {"name": "paid_after_review_of_docs", "title": "Paid",
                                                   "steps": [{"status": "processing", "submit": True},
                                                             {"status": "success"}]})
    assert r.status_code == 201, r.text
    before = {s["name"]: s for s in (await coverage_of(merchant))["scenarios"]}
    assert before["paid_after_review_of_docs"]["payouts"] == 0
    paid = (await merchant.post("/payouts", payout_body(scenario="paid_after_review_of_docs"))).json()

    async def reached():
        cov = await coverage_of(merchant)
        return cov if "paid_after_review_of_docs" in cov["scenarios_reached"] else None

    cov = await wait_for(reached, what=f"{paid['id']} to reach the end of its own scenario")
    mine = next(s for s in cov["scenarios"] if s["name"] == "paid_after_review_of_docs")
    assert (mine["title"], mine["payouts"], mine["reached_end"]) == ("Paid", 1, 1)
    assert "success" not in cov["scenarios_reached"]  # it followed its own, not the suffix's
    theirs = await coverage_of(other_merchant)
    assert "paid_after_review_of_docs" not in {s["name"] for s in theirs["scenarios"]}
    # Deleted, it was still walked: its payout's own copy keeps it in the coverage (and the gate).
    r = await merchant.http.delete("/sandbox/scenarios/paid_after_review_of_docs",
                                   headers={"X-Idempotency-Key": "del-" + paid["id"]})
    assert r.status_code == 204, r.text
    after = await coverage_of(merchant)
    assert "paid_after_review_of_docs" in after["scenarios_reached"]


async def test_a_scenario_made_again_under_its_name_leaves_the_old_payouts_judged_by_their_copy(merchant, worker):
    paid = {"name": "mine", "title": "Paid", "steps": [{"status": "processing", "submit": True},
                                                       {"status": "success"}]}
    failed = {"name": "mine", "title": "Failed", "steps": [{"status": "processing", "submit": True},
                                                           {"status": "failed", "failure_code": "account_closed"}]}

    async def mine():
        return next(s for s in (await coverage_of(merchant))["scenarios"] if s["name"] == "mine")

    async def ended(n: int):
        return (await mine())["reached_end"] == n

    assert (await merchant.post("/sandbox/scenarios", paid)).status_code == 201
    first = (await merchant.post("/payouts", payout_body(scenario="mine"))).json()
    await wait_for(lambda: ended(1), what=f"{first['id']} to reach the end of the first 'mine'")
    r = await merchant.http.delete("/sandbox/scenarios/mine", headers={"X-Idempotency-Key": "del-" + first["id"]})
    assert r.status_code == 204, r.text
    assert (await merchant.post("/sandbox/scenarios", failed)).status_code == 201
    # The first payout walked the old path (to success): it still counts, though the name
    # now has another path.
    assert (await mine())["reached_end"] == 1
    second = (await merchant.post("/payouts", payout_body(scenario="mine"))).json()
    await wait_for(lambda: ended(2), what=f"{second['id']} to reach the end of the second 'mine'")
    now = await mine()
    assert (now["title"], now["payouts"], now["reached_end"]) == ("Failed", 2, 2)


async def test_a_simulate_taken_stays_covered_after_the_payout_is_reinitiated(merchant, worker):
    """The notification was for the submission it names: a reinitiation clears the payout's
    psp_reference and a new submission brings another, and the simulate still counts."""
    waiting = (await merchant.post("/payouts", payout_body(account="12345678900004"))).json()

    async def read() -> dict:
        return (await merchant.get(f"/payouts/{waiting['id']}")).json()

    async def submitted():
        return (await read())["psp_reference"]

    first = await wait_for(submitted, what="submitted to the rail")
    assert (await merchant.post(f"/sandbox/payouts/{waiting['id']}/simulate",
                                {"status": "failed", "failure_code": "account_closed"})).status_code == 202
    await wait_for(lambda: _is(lambda: _status(read), "failed"), what="failed by the simulate")
    await wait_for(lambda: _paths(merchant, "simulate"), what="simulate counted")
    assert (await merchant.post(f"/payouts/{waiting['id']}/reinitiate", {})).status_code == 200

    async def submitted_again():
        now = await submitted()
        return now if now not in (None, first) else None

    await wait_for(submitted_again, what="submitted again, under another psp_reference")
    cov = await coverage_of(merchant)
    paths = {p["name"]: p["count"] for p in cov["operator_paths"]}
    assert paths["simulate"] == 1 and paths["reinitiate"] == 1, paths
    assert "awaiting_ipn" in cov["scenarios_reached"], cov  # the second walk, submitted and waiting


async def _status(read) -> str:
    return (await read())["status"]
