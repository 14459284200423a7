"""A new user, in Chromium, writes a scenario of its own on the Scenarios page, has an
impossible one refused with the step and the move named, and pays out on its own from New
test payout: the payout page names the scenario and its steps, also once it is deleted."""

from __future__ import annotations

import re

from playwright.async_api import expect

NAME, TITLE = "paid_after_a_retry", "Busy bank, then paid"
PATH = ["pending", "processing", "retrying", "processing", "success"]


async def test_a_new_user_writes_a_scenario_and_pays_out_on_it(tabs, merchant, worker):
    tab = await tabs()
    await tab.sign_in(merchant.key)
    page = tab.page
    await page.locator("nav").get_by_role("link", name="Scenarios").click()
    own = page.get_by_test_id("own-scenarios")
    await expect(own).to_contain_text("None yet")

    # The form starts from a timeline that runs (the default scenario's steps, and a blank row).
    steps = page.locator("#steps-rows tr")
    await expect(steps).to_have_count(3)
    await page.get_by_label("Name").fill(NAME)
    await page.get_by_label("Title").fill(TITLE)
    await page.get_by_label("Description").fill("The bank is busy once; the second attempt is paid.")
    await steps.nth(1).get_by_label("Status").select_option("retrying")
    await steps.nth(1).get_by_label("Reason").fill("bank busy")
    await steps.nth(2).get_by_label("Status").select_option("processing")
    await page.get_by_role("button", name="Add a step", exact=True).click()
    await steps.nth(3).get_by_label("Status").select_option("success")
    await tab.shot("70-scenario-editor-filled")
    await page.get_by_role("button", name="Create scenario").click()
    await expect(page.locator(".flash.ok")).to_contain_text(f"Scenario {NAME} made")
    mine = own.locator(f"tr[data-scenario={NAME}]")
    await expect(mine).to_contain_text("chosen by name")
    await expect(mine).to_contain_text("bank busy")
    await expect(mine.locator(".path .status")).to_have_text(PATH)

    # An impossible timeline: refused as the API refuses it, the row marked, the form kept.
    await page.get_by_text("Make a scenario", exact=True).click()
    await page.get_by_label("Name").fill("returned_while_processing")
    await page.get_by_label("Title").fill("Returned while processing")
    await steps.nth(1).get_by_label("Status").select_option("returned")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Create scenario").click()
    assert (await answer.value).status == 422
    await expect(page.get_by_role("alert")).to_contain_text(
        "Step 2 (steps[1]): processing → returned is not a move of the payout state machine")
    await expect(steps.nth(1)).to_have_class(re.compile(r"\bbad\b"))
    await expect(page.get_by_label("Name")).to_have_value("returned_while_processing")
    await expect(own.locator("tr[data-scenario]")).to_have_count(1)
    await tab.shot("71-scenario-refused")

    # New test payout offers it, marked as the merchant's; the payout follows it by name.
    await page.get_by_role("link", name="New test payout").click()
    choice = page.get_by_label("Scenario")
    await expect(choice.locator(f"option[value={NAME}]")).to_have_text(f"{TITLE} (yours, chosen by name)")
    await choice.select_option(NAME)
    await page.get_by_role("button", name="Create payout").click()
    await page.wait_for_url(re.compile(r"/dashboard/payouts/po_"))
    scenario = page.get_by_test_id("payout-scenario")
    await expect(scenario).to_contain_text(TITLE)
    await expect(scenario).to_contain_text(f"{NAME} (chosen by name)")
    await expect(page.get_by_test_id("scenario-steps")).to_contain_text("retrying “bank busy”")
    await expect(page.get_by_test_id("payout-status")).to_have_text("success")
    assert await page.locator(".timeline .status").all_inner_texts() == PATH
    payout_url = page.url
    await tab.shot("72-payout-on-own-scenario")

    # Deleted, the scenario leaves the payout its own copy.
    await page.locator("nav").get_by_role("link", name="Scenarios").click()
    await own.locator(f"tr[data-scenario={NAME}]").get_by_role("button", name="Delete").click()
    await expect(page.locator(".flash.ok")).to_contain_text(f"Scenario {NAME} deleted")
    await expect(own).to_contain_text("None yet")
    await page.goto(payout_url)
    await expect(scenario).to_contain_text(TITLE)
    await expect(page.get_by_test_id("scenario-steps")).to_contain_text("bank busy")
