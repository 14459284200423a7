"""The dashboard's new-payout form pays a Raast alias: the scenario fills a mobile number
whose last four digits choose it, and the payout page shows the alias and the account it
resolved to."""

from __future__ import annotations

import re

from playwright.async_api import expect


async def test_the_form_pays_a_raast_alias(tabs, merchant, worker):
    tab = await tabs()
    await tab.sign_in(merchant.key)
    await tab.open("/payouts/new")
    await tab.page.get_by_label("Pay to").select_option("raast:")
    await tab.page.get_by_label("Scenario").select_option("failed_account_closed")
    await expect(tab.page.get_by_label("Account number")).to_have_value("03001230003")
    await tab.page.get_by_role("button", name="Create payout").click()
    await tab.page.wait_for_url(re.compile(r"/dashboard/payouts/po_"))
    await expect(tab.page.get_by_test_id("payout-status")).to_have_text("failed", timeout=20_000)
    await expect(tab.page.locator("dd", has_text="03001230003 →")).to_be_visible()
    await tab.shot("raast-payout")
    (payout,) = (await merchant.get("/payouts")).json()["data"]
    assert payout["destination"]["alias"] == "03001230003" and payout["scenario"] == "failed_account_closed"
