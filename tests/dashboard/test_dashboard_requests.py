"""The request log in the dashboard: the Requests page lists what the merchant's client
sent with the log's filters, opens one request with its bodies, and each payout's page
links the requests that made or touched it."""

from __future__ import annotations

import re
import secrets

from playwright.async_api import expect

from tests.helpers import payout_body


async def test_requests_page_filters_and_links_a_payouts_requests(tabs, merchant):
    key = secrets.token_hex(8)
    created = await merchant.post("/payouts", payout_body(reference="from-my-client"), idem=key)
    assert created.status_code == 201
    payout_id = created.json()["id"]
    again = await merchant.post("/payouts", payout_body(reference="from-my-client"), idem=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert (await merchant.get(f"/payouts/{payout_id}")).status_code == 200
    refused = await merchant.get("/balance", headers={"X-Sandbox-Fault": "unavailable"})
    assert refused.status_code == 503

    tab = await tabs()
    await tab.sign_in(merchant.key)
    await tab.page.get_by_role("link", name="Requests").click()
    await tab.page.wait_for_url(tab.base + "/requests")
    table = tab.page.get_by_test_id("requests")
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.nth(0)).to_contain_text("GET /api/v1/balance")
    await expect(rows.nth(0).locator("[data-fault]")).to_have_text("unavailable")
    await expect(rows.nth(0)).to_contain_text("503")
    await tab.shot("requests-all")

    await tab.page.get_by_label("Method").select_option("POST")
    await tab.page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)
    await expect(rows.locator("[data-outcome]")).to_have_text(["replayed", "first"])

    await tab.page.get_by_label("Status").fill("abc")
    await tab.page.get_by_role("button", name="Filter").click()
    await expect(tab.page.get_by_role("alert")).to_contain_text("Status must be a number")

    await tab.open(f"/payouts/{payout_id}")
    await tab.page.get_by_test_id("payout-requests").click()
    await tab.page.wait_for_url(re.compile(r"/dashboard/requests\?object_id=po_"))
    await expect(rows).to_have_count(3)  # the POST, its replay and the GET; not the balance
    await expect(rows.nth(0)).to_contain_text(f"GET /api/v1/payouts/{payout_id}")
    await tab.shot("requests-of-a-payout")

    await rows.nth(2).get_by_role("link").first.click()
    await expect(tab.page.get_by_test_id("request-body")).to_contain_text("from-my-client")
    await expect(tab.page.get_by_test_id("response-body")).to_contain_text(payout_id)
    await expect(tab.page.locator("dl.facts")).to_contain_text("first")
    await tab.shot("request-detail")
