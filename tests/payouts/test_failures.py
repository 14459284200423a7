"""The failure and return catalogue: served read-only, and every failed or returned payout
carries its entry (ISO 20022 reason, retryable, message) in its answer and its events."""

from sandbox.payouts.failures import CATALOGUE
from tests.helpers import bank, payout_body, reaches


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
    p = (await merchant.post("/payouts", payout_body(account="12345678900012"))).json()
    paid = await reaches(merchant, p["id"], "success")
    assert paid["failure"] is None
    returned = await reaches(merchant, p["id"], "returned")
    assert returned["failure_code"] == "incorrect_account_holder_name"
    assert returned["failure"]["iso_reason"] == "BE01"
    assert (await _event(merchant, p["id"], "payout.returned"))["data"]["failure"]["code"] == returned["failure_code"]


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
