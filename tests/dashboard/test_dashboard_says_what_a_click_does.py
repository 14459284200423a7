"""The payout page's controls say what they do and what the scenario would have done;
the details keep the scenario history after a reinitiate; the home page names the opening
balance as such. A merchant on a manual clock holds each payout where the test needs it."""

from __future__ import annotations

from playwright.async_api import expect

from tests.clocks.test_clocks import manual_merchant
from tests.helpers import payout_body


async def _payout_at(api, account: str, **advance) -> str:
    p = (await api.post("/payouts", payout_body(account=account))).json()
    r = await api.post("/sandbox/clock/advance", advance)
    assert r.status_code == 200, r.text
    return p["id"]


async def test_simulate_preselects_the_scenario_outcome_and_labels_overrides(tabs, stack):
    api = await manual_merchant(stack)
    tab = await tabs()
    await tab.sign_in(api.key)

    # Processing, on the account-closed scenario: the scenario's own outcome is preselected.
    closing = await _payout_at(api, "12345678900003", seconds=1)
    await tab.open(f"/payouts/{closing}")
    outcome, reason = tab.page.locator("select[name=status]"), tab.page.locator("select[name=failure_code]")
    await expect(outcome).to_have_value("failed")
    await expect(outcome.locator("option:checked")).to_have_text("failed (the scenario's outcome)")
    await expect(outcome.locator("option[value=success]")).to_have_text("success (overrides the scenario)")
    await expect(reason).to_have_value("account_closed")
    await expect(tab.page.get_by_test_id("simulate-note")).to_contain_text(
        "The scenario would end this payout failed (account_closed)")
    await tab.shot("40-simulate-scenario-outcome-preselected")

    # Paid on the success scenario: nothing the scenario would do, so a return is an override.
    paid = await _payout_at(api, "12345678900001", until="idle")
    await tab.open(f"/payouts/{paid}")
    await expect(outcome).to_have_value("returned")
    await expect(outcome.locator("option:checked")).to_have_text("returned (overrides the scenario)")
    await expect(tab.page.get_by_test_id("simulate-note")).to_contain_text(
        "The scenario leaves this payout success: any outcome here overrides the scenario.")
    await tab.shot("41-simulate-override-labelled")
    await api.aclose()


async def test_details_keep_the_scenario_history_after_a_reinitiate(tabs, stack):
    api = await manual_merchant(stack)
    failed = await _payout_at(api, "12345678900003", until="idle")
    r = await api.post(f"/payouts/{failed}/reinitiate", {"destination": {
        "type": "bank", "bank_code": "UBL", "account_number": "98765432100001"}})
    assert r.status_code == 200, r.text
    tab = await tabs()
    await tab.sign_in(api.key)
    await tab.open(f"/payouts/{failed}")
    await expect(tab.page.get_by_test_id("scenario-history")).to_contain_text("failed_account_closed → success")
    await expect(tab.page.locator(".facts")).to_contain_text("Success")  # the scenario it follows now
    await tab.shot("42-scenario-history-after-reinitiate")
    await api.aclose()


async def test_the_opening_balance_is_named_as_such(tabs, merchant):
    tab = await tabs()
    await tab.sign_in(merchant.key)
    headers = tab.page.locator("table thead th")
    await expect(headers.first).to_have_text("Opening balance")
    cells = tab.page.locator("table tbody tr").first.locator("td")
    await expect(cells.nth(0)).to_contain_text("× 1")
    await expect(cells.nth(1)).to_contain_text("× 0")  # "Topped up": nothing topped up yet
    await tab.shot("43-home-opening-balance")
