"""A dashboard session ends with its key: signed in and watching a payout's page (its live
region refreshes about once a second), the user is sent to the sign-in page, told why,
within a couple of seconds of the key's revocation, without touching anything."""

from __future__ import annotations

import time

from tests.helpers import payout_body


async def test_a_revoked_key_ends_the_dashboard_session_at_the_next_refresh(tabs, admin, merchant) -> None:
    from playwright.async_api import expect

    payout = (await merchant.post("/payouts", payout_body())).json()
    tab = await tabs()
    await tab.sign_in(merchant.key)
    await tab.open(f"/payouts/{payout['id']}")
    rolled = await admin.post(f"/admin/merchants/{merchant.merchant_id}/keys/roll", {})
    assert rolled.status_code == 201, rolled.text
    answered = time.monotonic()
    await tab.page.wait_for_url(tab.base + "/login", timeout=10_000)
    ended = time.monotonic() - answered
    await expect(tab.page.get_by_role("status")).to_contain_text("Your API key stopped working")
    assert ended < 3.0, f"the session ended {ended:.1f} s after the roll"
