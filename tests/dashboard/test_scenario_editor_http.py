"""The scenario editor's POSTs over real HTTP with a cookie jar: made and deleted through
the same service as the API, refused with the API's status (422 impossible_timeline, 409
scenario_taken) and its messages, behind the session's CSRF token like every dashboard
form; a scenario chosen only by name is picked in New test payout."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest

from tests.security.test_hostile_dashboard import Browser

FORM = {"name": "paid_later", "title": "Paid later", "description": "Paid after a minute.",
        "steps-0-status": "processing", "steps-0-after_s": "1", "steps-0-submit": "1",
        "steps-1-status": "success", "steps-1-after_s": "60"}


@pytest.fixture
async def shop(stack, merchant) -> AsyncIterator[Browser]:
    b = Browser(stack.base_url)
    await b.sign_in(merchant.key)
    yield b
    await b.http.aclose()


async def _post(shop: Browser, action: str, form: dict[str, str]):
    fields = await shop.form("/scenarios", "/dashboard" + action)
    return await shop.http.post(action, data={**fields, **form})


async def _own(merchant) -> list[str]:
    return [s["name"] for s in (await merchant.get("/sandbox/scenarios")).json()["scenarios"] if s.get("custom")]


async def test_made_refused_and_deleted_as_the_api_would(shop, merchant):
    r = await _post(shop, "/scenarios#new", FORM)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/scenarios#top"
    assert await _own(merchant) == ["paid_later"]
    page = (await shop.http.get("/scenarios")).text
    assert "Scenario paid_later made" in html.unescape(page) and 'data-scenario="paid_later"' in page

    refusals = [
        ({**FORM, "name": "paid_twice"} | {"steps-1-status": "returned"}, 422,
         "Step 2 (steps[1]): processing → returned is not a move of the payout state machine"),
        (FORM, 409, "Another of your scenarios has the name 'paid_later'"),
        ({**FORM, "name": "success"}, 409, "'success' is a built-in scenario's name"),
        ({**FORM, "name": "release"}, 409, "'release' is reserved: simulate, reinitiate, cancel, approve, reject,"
                                            " release, all name operator paths"),
        ({**FORM, "name": "p", "suffix": "0003"}, 409, "Suffix 0003 picks the built-in scenario"),
        ({**FORM, "name": "Paid Later"}, 400, "Name: must be lower-case letters"),
    ]
    for form, status, message in refusals:
        r = await _post(shop, "/scenarios#new", form)
        assert r.status_code == status, (form, r.status_code)
        page = html.unescape(r.text)
        assert message in page and "No scenario was made" in page, message
        assert f'value="{form["name"]}"' in page  # the form comes back as sent
    assert await _own(merchant) == ["paid_later"]

    r = await _post(shop, "/scenarios/paid_later/delete", {})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/scenarios"
    assert await _own(merchant) == []
    assert "Scenario paid_later deleted" in html.unescape((await shop.http.get("/scenarios")).text)
    # Deleting what is not there (from a page open since, say): a message, nothing else.
    r = await shop.http.post("/scenarios/paid_later/delete", data=await shop.form("/", "/dashboard/logout"))
    assert r.status_code == 303
    page = html.unescape((await shop.http.get("/scenarios")).text)
    assert "Could not delete: No scenario 'paid_later' of yours" in page


async def test_without_the_session_s_csrf_token_nothing_is_made_or_deleted(shop, merchant):
    assert (await merchant.post("/sandbox/scenarios", {"name": "kept", "title": "Kept", "steps": [
        {"status": "processing", "submit": True}]})).status_code == 201
    for action, form in (("/scenarios", FORM), ("/scenarios/kept/delete", {})):
        for token in ({}, {"_csrf": "0" * 64}):
            r = await shop.http.post(action, data={**form, **token})
            assert r.status_code == 403 and "form has expired" in r.text
    assert await _own(merchant) == ["kept"]


async def test_an_admin_sees_the_table_but_makes_no_scenario(stack, admin):
    desk = Browser(stack.base_url)
    try:
        await desk.sign_in(admin.key)
        page = (await desk.http.get("/scenarios")).text
        assert "Built-in scenarios" in page and "data-scenario-form" not in page
        fields = await desk.form("/", "/dashboard/logout")
        assert (await desk.http.post("/scenarios", data={**fields, **FORM})).status_code == 403
    finally:
        await desk.http.aclose()


async def test_new_test_payout_picks_a_scenario_chosen_only_by_name(shop, merchant):
    made = await merchant.post("/sandbox/scenarios", {"name": "by_name", "title": "Waits at the bank", "steps": [
        {"status": "processing", "after_s": 1, "submit": True}]})
    assert made.status_code == 201, made.text
    page = html.unescape((await shop.http.get("/payouts/new?scenario=by_name")).text)
    assert 'value="by_name"' in page and "Waits at the bank (yours, chosen by name)" in page
    assert 'name="account_number" value="12345678900000"' in page  # digits that pick no scenario
    fields = await shop.form("/payouts/new", "/dashboard/payouts")
    r = await shop.http.post("/payouts", data={**fields, "scenario": "by_name", "destination": "bank:HBL",
                                               "account_number": "", "amount": "10.00"})
    assert r.status_code == 303, r.text
    (payout,) = (await merchant.get("/payouts")).json()["data"]
    assert payout["scenario"] == "by_name" and payout["destination"]["account_number"] == "12345678900000"
    page = html.unescape((await shop.http.get(r.headers["location"].removeprefix("/dashboard"))).text)
    assert "Waits at the bank" in page and "chosen by name" in page and "submits to the rail" in page
