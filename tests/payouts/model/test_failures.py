"""The failure and return catalogue: served read-only, and every failed or returned payout
carries its entry (ISO 20022 reason, retryable, message) in its answer and its events."""

import secrets

import httpx
import msgspec

from sandbox.client.blocking import tls
from sandbox.payouts.model.failures import CATALOGUE
from sandbox.rail.signing import sign
from tests.helpers import RAIL_SECRET, bank, payout_body, reaches, wait_for

# The reason a return records when nobody gave one (docs/scenarios-and-time.md says so).
DEFAULT_RETURN = {"code": "rail_returned", "iso_reason": "MS03", "retryable": True,
                  "message": "the beneficiary's bank sent the funds back without giving a reason"}


async def test_catalogue_is_served(merchant):
    r = await merchant.get("/sandbox/failure-codes")
    assert r.status_code == 200
    served = {entry["code"]: entry for entry in r.json()}
    assert set(served) == set(CATALOGUE)
    # The codes published before the catalogue grew are still members.
    assert {"account_closed", "invalid_account", "rail_rejected", "rail_timeout"} <= set(served)
    assert served["account_frozen"] == {"code": "account_frozen", "iso_reason": "AC06", "retryable": False,
                                        "message": "the account is blocked (frozen) and accepts no credits"}
    assert served["incorrect_account_holder_name"]["iso_reason"] == "BE01"
    assert served["insufficient_funds"]["retryable"] is True


async def _event(api, payout_id, event_type):
    events = (await api.get("/events", params={"payout_id": payout_id, "limit": 100})).json()["data"]
    return next(e for e in events if e["type"] == event_type)


async def test_a_failure_carries_its_entry_in_the_answer_and_the_event(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(account="12345678900009"))).json()
    assert p["failure_code"] is None and p["failure"] is None
    failed = await reaches(merchant, p["id"], "failed")
    entry = {"code": "account_frozen", "iso_reason": "AC06", "retryable": False,
             "message": "the account is blocked (frozen) and accepts no credits"}
    assert failed["failure_code"] == "account_frozen" and failed["failure"] == entry
    event = await _event(merchant, p["id"], "payout.failed")
    assert event["data"]["failure"] == entry


async def test_a_return_after_success_carries_its_reason(merchant, worker):
    """At time scale 0 the return follows the success at once: the payout is awaited at its
    end, and what it was at its success read from that status's event (a poll for `success`
    missed it, under load, and waited out its deadline)."""
    p = (await merchant.post("/payouts", payout_body(account="12345678900012"))).json()
    returned = await reaches(merchant, p["id"], "returned")
    assert [h["status"] for h in returned["status_history"]][-2:] == ["success", "returned"]
    assert (await _event(merchant, p["id"], "payout.success"))["data"]["failure"] is None
    assert returned["failure_code"] == "incorrect_account_holder_name"
    assert returned["failure"]["iso_reason"] == "BE01"
    assert (await _event(merchant, p["id"], "payout.returned"))["data"]["failure"]["code"] == returned["failure_code"]


async def test_the_built_in_return_comes_back_with_its_reason(merchant, worker):
    """`…0006` (success_then_returned): the bank's return names why, like every return."""
    p = (await merchant.post("/payouts", payout_body(account="12345678900006"))).json()
    returned = await reaches(merchant, p["id"], "returned")
    entry = {"code": "beneficiary_deceased", "iso_reason": "MD07", "retryable": False,
             "message": "the beneficiary has died; the bank sent the funds back"}
    assert returned["failure_code"] == "beneficiary_deceased" and returned["failure"] == entry
    assert returned["status_history"][-1]["status"] == "returned"
    assert (await _event(merchant, p["id"], "payout.returned"))["data"]["failure"] == entry
    served = (await merchant.get("/sandbox/scenarios")).json()["scenarios"]
    row = next(s for s in served if s["name"] == "success_then_returned")
    assert row["failure_code"] == "beneficiary_deceased"


async def _paid(merchant, account="12345678900004"):
    """A payout the rail was given (`…0004` waits for its answer), answered `success`."""
    p = (await merchant.post("/payouts", payout_body(account=account))).json()

    async def submitted():
        row = (await merchant.get(f"/payouts/{p['id']}")).json()
        return row if row["psp_reference"] else None

    return await wait_for(submitted, what="submission to the rail")


async def _ipn(stack, body: dict) -> httpx.Response:
    raw = msgspec.json.encode(body)
    async with httpx.AsyncClient(verify=tls()) as http:
        return await http.post(stack.ipn_url + "/ipn/rail", content=raw, headers={
            "Content-Type": "application/json", "X-Rail-Signature": sign(RAIL_SECRET, raw)})


async def test_a_rail_return_without_a_code_records_the_default_reason(stack, merchant, worker):
    p = await _paid(merchant)
    for status in ("success", "returned"):
        r = await _ipn(stack, {"psp_reference": p["psp_reference"], "status": status,
                               "notification_id": "n_" + secrets.token_hex(8)})
        assert r.status_code == 200 and r.json()["result"] == "applied", r.text
    returned = (await merchant.get(f"/payouts/{p['id']}")).json()
    assert returned["status"] == "returned"
    assert returned["failure_code"] == "rail_returned" and returned["failure"] == DEFAULT_RETURN
    assert (await _event(merchant, p["id"], "payout.returned"))["data"]["failure"] == DEFAULT_RETURN


async def test_a_simulated_return_without_a_code_records_the_default_reason(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()
    paid = await reaches(merchant, p["id"], "success")
    assert paid["failure"] is None
    r = await merchant.post(f"/sandbox/payouts/{p['id']}/simulate", {"status": "returned"})
    assert r.status_code == 202, r.text
    returned = await reaches(merchant, p["id"], "returned")
    assert returned["failure_code"] == "rail_returned" and returned["failure"] == DEFAULT_RETURN


async def test_an_own_scenario_returning_without_a_code_records_the_default_reason(merchant, worker):
    suffix = f"{secrets.randbelow(9000) + 1000}"
    r = await merchant.post("/sandbox/scenarios", {
        "name": f"returned_no_code_{secrets.token_hex(3)}", "title": "Returned, no code", "suffix": suffix,
        "steps": [{"status": "processing", "submit": True}, {"status": "success"},
                  {"status": "returned", "via": "ipn"}]})
    assert r.status_code == 201, r.text
    p = (await merchant.post("/payouts", payout_body(account="1234567890" + suffix))).json()
    returned = await reaches(merchant, p["id"], "returned")
    assert returned["failure_code"] == "rail_returned" and returned["failure"] == DEFAULT_RETURN


async def test_a_simulated_return_takes_a_reason(merchant, worker):
    p = (await merchant.post("/payouts", payout_body(account="12345678900001"))).json()
    await reaches(merchant, p["id"], "success")
    r = await merchant.post(f"/sandbox/payouts/{p['id']}/simulate",
                            {"status": "returned", "failure_code": "no_account"})
    assert r.status_code == 202, r.text
    returned = await reaches(merchant, p["id"], "returned")
    assert returned["failure"]["code"] == "no_account" and returned["failure"]["iso_reason"] == "AC01"


async def test_an_unknown_code_is_refused(merchant):
    r = await merchant.post("/sandbox/payouts/po_nope/simulate", {"status": "failed", "failure_code": "account_gone"})
    assert r.status_code in (400, 422) and "failure_code" in r.text


async def test_verify_account_reports_a_title_mismatch(merchant):
    for suffix in ("0008", "0012"):
        answer = (await merchant.post("/verify-account", bank(f"1234567890{suffix}"))).json()
        assert answer["valid"] is False and answer["reason"] == "incorrect_account_holder_name"
        assert answer["account_title"]  # the bank's title, to compare with the beneficiary's name
