"""The receiver audit from the dashboard's Webhooks page: the Audit button runs it and
the page shows the endpoint's scorecard, the forgeries the receiver let through marked."""

from __future__ import annotations

from playwright.async_api import expect

from tests.webhooks.audit_helpers import ALL_CASES, FORGERIES, register
from tests.webhooks.audit_receivers import trusting
from tests.webhooks.receiver import Receiver


async def test_audit_button_shows_the_scorecard(tabs, merchant):
    passed = f"{len(ALL_CASES) - len(FORGERIES)} of {len(ALL_CASES)}"  # a trusting receiver fails each forgery
    receiver = await Receiver(responder=trusting).start()
    try:
        endpoint = await register(merchant, receiver)
        tab = await tabs()
        await tab.sign_in(merchant.key)
        await tab.open("/webhooks")
        await expect(tab.page.get_by_test_id("audit-scorecard")).to_have_count(0)
        row = tab.page.locator("tr", has_text=endpoint["url"])
        await row.get_by_role("button", name="Audit").click()
        await tab.page.wait_for_url(tab.base + "/webhooks")
        await expect(tab.page.locator(".flash.warn")).to_contain_text(f"{passed} cases passed")
        card = tab.page.get_by_test_id("audit-scorecard")
        await expect(card).to_contain_text(f"{passed} passed")
        tampered = card.locator("tr", has_text="tampered_body")
        await expect(tampered).to_contain_text("HTTP 204")
        await expect(tampered).to_contain_text("FAIL")
        await expect(card.locator("tr", has_text="valid_event")).to_contain_text("pass")
        await tab.shot("webhooks-audit-scorecard")
    finally:
        await receiver.stop()
    assert len(receiver.received) == len(ALL_CASES)
    listed = (await merchant.get(f"/webhook-endpoints/{endpoint['id']}/audits")).json()["data"]
    assert len(listed) == 1 and listed[0]["failed_count"] == len(FORGERIES)  # kept, though the receiver failed
