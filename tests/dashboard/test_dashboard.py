"""The dashboard in a real browser: sign-in, a payout per scenario from the form watched
live, admin review, isolation between merchants, readable errors, CSRF."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from sandbox.payouts.model import scenarios
from tests.helpers import payout_body
from tests.webhooks.receiver import Receiver

# What a payout page shows once a scenario has run by itself (no one acting on it).
REVIEW_AMOUNT = "150000.00"


async def test_sign_in_keeps_the_key_out_of_reach(tabs, merchant):
    tab = await tabs()
    await tab.open()
    await tab.page.wait_for_url(tab.base + "/login")
    await tab.shot("01-login")
    await tab.page.get_by_label("API key").fill("sk_test_not_a_real_key_000000000")
    await tab.page.get_by_role("button", name="Sign in").click()
    await expect(tab.page.get_by_role("alert")).to_contain_text("not valid")
    await tab.shot("02-login-bad-key")

    await tab.sign_in(merchant.key)
    await expect(tab.page.locator(".bucket").first).to_contain_text("1,000,000.00")
    cookies = await tab.page.context.cookies()
    session = next(c for c in cookies if c["name"] == "mypay_dashboard")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/dashboard"
    assert merchant.key not in session["value"]
    assert merchant.key not in tab.page.url
    assert await tab.page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert await tab.page.evaluate("document.cookie") == ""

    await tab.page.get_by_label("Top up").fill("2500.50")
    await tab.page.get_by_role("button", name="Add to available").click()
    await expect(tab.page.locator(".flash.ok", has_text="available is now 1,002,500.50")).to_be_visible()
    await tab.shot("03-balance")

    await tab.page.get_by_role("button", name="Sign out").click()
    await tab.page.wait_for_url(tab.base + "/login")
    await tab.open("/payouts")
    await tab.page.wait_for_url(tab.base + "/login")


async def _create_from_form(tab, scenario, amount: str = "1500.00"):
    """Fill the form with a scenario picked by name; returns the payout page's status badge."""
    await tab.open("/payouts/new")
    await tab.page.get_by_label("Scenario").select_option(scenario.name)
    account = tab.page.get_by_label("Account number")
    await expect(account).to_have_value(re.compile(scenario.suffix + "$"))
    await tab.page.get_by_label("Amount (PKR)").fill(amount)
    await tab.page.get_by_role("button", name="Create payout").click()
    await tab.page.wait_for_url(re.compile(r"/dashboard/payouts/po_"))
    await tab.mark()
    return tab.page.get_by_test_id("payout-status")


async def _timeline(tab) -> list[str]:
    return await tab.page.locator(".timeline .status").all_inner_texts()


async def test_a_payout_for_each_scenario_reaches_its_end_live(tabs, merchant, worker):
    """Every scenario of the table, picked by name in the form, watched on its page until
    its path's end without reloading; then the two that wait for the merchant are moved on."""
    table = scenarios.table()
    first = await tabs()
    await first.sign_in(merchant.key)
    pages = {}
    for scenario in table.scenarios:
        tab = first if not pages else await first.twin()
        pages[scenario.name] = (tab, await _create_from_form(tab, scenario))

    async def reaches_end(name: str) -> None:
        tab, status = pages[name]
        scenario = table.by_name(name)
        await expect(status).to_have_text(scenario.path[-1])
        if scenario.path[-1] == "pending":  # submitted, waiting for the bank
            await expect(tab.page.locator(".facts")).not_to_contain_text("not submitted yet")
        assert await _timeline(tab) == scenario.path
        assert await tab.still_marked(), f"{name}: the page reloaded"

    await asyncio.gather(*(reaches_end(s.name) for s in table.scenarios))
    for name, (tab, _) in pages.items():
        await tab.shot(f"10-payout-{name}")

    # The rail decides the waiting one: success, from the simulate form.
    tab, status = pages["awaiting_ipn"]
    await tab.page.get_by_role("button", name="Simulate rail callback").click()
    await expect(tab.page.locator(".flash.ok", has_text="rail will call back with success")).to_be_visible()
    await tab.mark()
    await expect(status).to_have_text("success")
    assert await tab.still_marked()

    # Fail, retry and succeed: reinitiate the account-closed one to an account ending in 0001.
    tab, status = pages["failed_account_closed"]
    await expect(tab.page.locator(".explain")).to_contain_text("account as closed")
    await tab.page.get_by_placeholder("new account number (optional)").fill("12345678900001")
    await tab.page.get_by_role("button", name="Reinitiate").click()
    await expect(tab.page.locator(".flash.ok", has_text="Reinitiated")).to_be_visible()
    await expect(tab.page.locator(".flash")).to_have_count(1)  # polls of the other tabs brought none back
    await tab.mark()
    await expect(status).to_have_text("success")
    assert await _timeline(tab) == ["pending", "processing", "failed", "pending", "processing", "success"]
    assert await tab.still_marked()
    await tab.shot("11-payout-failed-then-reinitiated")

    # The list shows every one of them, and its statuses are live too.
    await first.open("/payouts")
    await expect(first.page.locator("tbody tr[data-payout]")).to_have_count(len(table.scenarios))
    await first.shot("12-payouts")
    await first.open("/scenarios")
    await first.shot("13-scenarios")


async def test_admin_approves_and_releases_from_the_review_queue(tabs, merchant, admin, worker):
    table = scenarios.table()
    shop = await tabs()
    await shop.sign_in(merchant.key)
    big = await _create_from_form(shop, table.by_name("success"), amount=REVIEW_AMOUNT)
    await expect(big).to_have_text("in_review")
    await expect(shop.page.locator(".explain")).to_contain_text("manual review")
    big_url = shop.page.url
    held_tab = await shop.twin()
    held = await _create_from_form(held_tab, table.by_name("on_hold"))
    await expect(held).to_have_text("on_hold")
    await shop.shot("20-payout-in-review")

    desk = await tabs()
    await desk.sign_in(admin.key)
    big_id, held_id = big_url.rsplit("/", 1)[1], held_tab.page.url.rsplit("/", 1)[1]
    row = desk.page.locator(f"tr[data-payout='{big_id}']")
    await expect(row).to_contain_text("150,000.00")
    await desk.shot("21-review-queue")
    await row.get_by_role("button", name="Approve").click()
    await expect(desk.page.locator(".flash.ok", has_text="Approved")).to_be_visible()
    await desk.page.locator(f"tr[data-payout='{held_id}']").get_by_role("button", name="Release").click()
    await expect(desk.page.locator(".flash.ok", has_text="Released")).to_be_visible()

    # The merchant's pages, never reloaded, follow.
    await expect(big).to_have_text("success")
    await expect(held).to_have_text("success")
    assert await shop.still_marked() and await held_tab.still_marked()
    assert await _timeline(shop) == ["in_review", "pending", "processing", "success"]

    await desk.open("/merchants")
    await expect(desk.page.get_by_text(merchant.merchant_id)).to_be_visible()
    await desk.shot("22-merchants")
    await desk.open(f"/payouts/{big_id}")
    await expect(desk.page.get_by_test_id("payout-status")).to_have_text("success")
    await desk.open("/payouts/new")  # admins review, they do not pay out
    await expect(desk.page.locator("h1")).to_contain_text("403")


async def test_a_merchant_cannot_open_another_merchants_payout(tabs, merchant, other_merchant):
    theirs = (await other_merchant.post("/payouts", payout_body())).json()
    tab = await tabs()
    await tab.sign_in(merchant.key)
    response = await tab.open(f"/payouts/{theirs['id']}")
    assert response.status == 404
    await expect(tab.page.locator("h1")).to_have_text("404 · Not found")
    await expect(tab.page.locator("body")).not_to_contain_text(theirs["amount"])
    await tab.shot("30-other-merchants-payout")
    assert (await tab.page.request.get(f"{tab.base}/payouts/{theirs['id']}/live")).status == 404

    # Not by a crafted POST either (with this session's valid CSRF token).
    await tab.open("/payouts/new")
    token = await tab.page.locator("input[name=_csrf]").first.input_value()
    r = await tab.page.request.post(f"{tab.base}/payouts/{theirs['id']}/cancel", form={"_csrf": token})
    assert r.status == 404
    assert (await other_merchant.get(f"/payouts/{theirs['id']}")).json()["status"] == "pending"
    await tab.open("/payouts")
    await expect(tab.page.locator("tbody")).not_to_contain_text(theirs["id"])


async def test_bad_input_gets_a_readable_message_and_changes_nothing(tabs, merchant):
    tab = await tabs()
    await tab.sign_in(merchant.key)
    attempts = [
        ({"Amount (PKR)": "12.345"}, "Amount: must be a decimal"),
        ({"Account number": "12ab567890001"}, "Account number: must be digits only"),
        ({"Account number": "123"}, "Account number: must be 10 to 16 digits"),
        ({"Amount (PKR)": "5000000.00"}, "available balance does not cover"),
        ({"Reference": "has spaces"}, "Reference: may use letters"),
    ]
    for fields, message in attempts:
        await tab.open("/payouts/new")
        for name, value in fields.items():
            await tab.page.get_by_label(name).fill(value)
        await tab.page.get_by_role("button", name="Create payout").click()
        await expect(tab.page.get_by_role("alert")).to_contain_text(message)
        await expect(tab.page.get_by_role("alert")).to_contain_text("Nothing was created")
        assert "Traceback" not in await tab.page.content()
    await tab.shot("40-form-error")
    assert (await merchant.get("/payouts")).json()["data"] == []

    # A used reference is refused with the service's own message.
    await merchant.post("/payouts", payout_body(reference="order-1"))
    await tab.open("/payouts/new")
    await tab.page.get_by_label("Reference").fill("order-1")
    await tab.page.get_by_role("button", name="Create payout").click()
    await expect(tab.page.get_by_role("alert")).to_contain_text("already used")

    # No CSRF token, or someone else's: refused, nothing made.
    for form in ({"amount": "10.00", "destination": "bank:HBL", "account_number": "12345678900001"},
                 {"_csrf": "0" * 64, "amount": "10.00", "destination": "bank:HBL",
                  "account_number": "12345678900001"}):
        r = await tab.page.request.post(f"{tab.base}/payouts", form=form, max_redirects=0)
        assert r.status == 403 and "form has expired" in await r.text()
    assert len((await merchant.get("/payouts")).json()["data"]) == 1

    # An action the payout's status does not allow: a readable flash, no change.
    paid = (await merchant.get("/payouts")).json()["data"][0]
    await tab.open(f"/payouts/{paid['id']}")
    token = await tab.page.locator("input[name=_csrf]").first.input_value()
    r = await tab.page.request.post(f"{tab.base}/payouts/{paid['id']}/reinitiate", form={"_csrf": token},
                                    max_redirects=0)
    assert r.status == 303
    await tab.open(f"/payouts/{paid['id']}")
    await expect(tab.page.locator(".flash.error")).to_contain_text("Could not reinitiate: The payout is pending")
    await tab.shot("41-action-refused")

    response = await tab.open("/no/such/page")
    assert response.status == 404
    await expect(tab.page.locator("h1")).to_have_text("404 · Not found")


async def test_webhook_deliveries_show_on_the_page_and_resend(tabs, merchant, worker):
    receiver = await Receiver().start()
    try:
        tab = await tabs()
        await tab.sign_in(merchant.key)
        await tab.open("/webhooks")
        await tab.page.get_by_label("URL").fill(receiver.url())
        await tab.page.get_by_role("button", name="Add endpoint").click()
        await expect(tab.page.get_by_test_id("endpoint-secret")).to_contain_text("whsec_")

        status = await _create_from_form(tab, scenarios.table().by_name("success"))
        await expect(status).to_have_text("success")
        paid = tab.page.locator("[data-event]", has_text="payout.success")
        await expect(paid.locator("[data-delivery-status]")).to_have_text(["succeeded"])
        await expect(paid.locator(".attempts")).to_contain_text("HTTP 200")
        webhook_id = await paid.get_attribute("data-event")

        await paid.get_by_role("button", name="Resend").click()
        await expect(tab.page.locator(".flash.ok", has_text="Resent")).to_be_visible()
        await expect(paid.locator("[data-delivery-status]")).to_have_text(["succeeded", "succeeded"])
        await expect(paid).to_contain_text("(resent)")
        assert [r.webhook_id for r in receiver.received].count(webhook_id) == 2
        await tab.shot("50-payout-webhooks")
        await tab.open("/webhooks")
        await expect(tab.page.locator("[data-event]").first).to_be_visible()
        await tab.shot("51-webhooks")
    finally:
        await receiver.stop()


async def test_a_batch_uploaded_from_the_page_shows_its_progress(tabs, merchant, worker):
    header = "reference,amount,type,bank_code,account_number\n"
    rows = "b-1,10.00,bank,HBL,12345678900001\nb-2,20.00,bank,HBL,12345678900003\nb-3,1.234,bank,HBL,12345678900001\n"
    tab = await tabs()
    await tab.sign_in(merchant.key)
    await tab.open("/batches")
    await tab.page.get_by_role("button", name="Upload batch").click()  # no file chosen
    await expect(tab.page.get_by_role("alert")).to_contain_text("File: choose a CSV file")
    await tab.page.set_input_files("input[name=file]", files=[
        {"name": "three.csv", "mimeType": "text/csv", "buffer": (header + rows).encode()}])
    await tab.page.get_by_role("button", name="Upload batch").click()
    await tab.page.wait_for_url(re.compile(r"/dashboard/batches/pb_"))
    await tab.mark()
    await expect(tab.page.locator(".progress + small")).to_contain_text("3 / 3 done")
    await expect(tab.page.locator("[data-batch-status]")).to_have_text("completed_with_errors")
    await expect(tab.page.locator("tbody")).to_contain_text("Amount: must be a decimal")  # the invalid row
    assert await tab.still_marked()
    await tab.page.get_by_role("button", name=re.compile("Retry the 1 failed")).click()
    await expect(tab.page.locator(".flash.ok", has_text="Retrying 1 failed payouts")).to_be_visible()
    await tab.shot("60-batch")
    await tab.open("/batches")
    await tab.shot("61-batches")


async def test_a_live_page_keeps_its_forms_while_nothing_changes(tabs, merchant):
    """A payout that rests (on hold, no worker here) is polled every second; each poll's
    forms carry fresh one-time keys, which alone must not re-render the region: the button
    under the user's pointer stays the same element, with the key it was rendered with."""
    tab = await tabs()
    await tab.sign_in(merchant.key)
    r = await merchant.post("/payouts", payout_body(account="12345678900005"))
    polled = lambda resp: resp.request.headers.get("x-dashboard-live") == "1"  # noqa: E731
    async with tab.page.expect_response(polled):  # the first answer replaces the server's render
        await tab.open(f"/payouts/{r.json()['id']}")
    async with tab.page.expect_response(polled):  # asked only once the first was applied
        pass
    cancel = await tab.page.get_by_role("button", name="Cancel payout").element_handle()
    for _ in range(3):  # three more polls of the live region answered
        async with tab.page.expect_response(polled):
            pass
    assert await cancel.evaluate("button => button.isConnected")
