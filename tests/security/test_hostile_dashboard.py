"""The dashboard against a careless or hostile user, over real HTTP with a cookie jar:
a copied cookie after sign-out, a double submit, a reload of a posted form, a merchant
over its rate limit."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import db
from sandbox.client.blocking import tls

_FORM = re.compile(r'<form[^>]*action="(?P<action>[^"]+)"[^>]*>(?P<body>.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    for form in _FORM.finditer(page):
        if html.unescape(form["action"]) == action:
            return {m["name"]: html.unescape(m["value"]) for m in _HIDDEN.finditer(form["body"])}
    raise AssertionError(f"no form posting to {action}")


class Browser:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(verify=tls(), base_url=base_url + "/dashboard", follow_redirects=False,
                                      timeout=30)

    async def sign_in(self, key: str) -> None:
        page = (await self.http.get("/login")).text
        r = await self.http.post("/login", data={**form_fields(page, "/dashboard/login"), "api_key": key})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard", r.text

    async def form(self, page_path: str, action: str) -> dict[str, str]:
        r = await self.http.get(page_path)
        assert r.status_code == 200, r.text
        return form_fields(r.text, action)


@pytest.fixture
async def browser(stack) -> AsyncIterator[Browser]:
    b = Browser(stack.base_url)
    yield b
    await b.http.aclose()


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(stack, browser, merchant):
    await browser.sign_in(merchant.key)
    copied = dict(browser.http.cookies)
    assert (await browser.http.get("/")).status_code == 200
    fields = await browser.form("/", "/dashboard/logout")
    assert (await browser.http.post("/logout", data=fields)).status_code == 303
    async with httpx.AsyncClient(verify=tls(), base_url=stack.base_url + "/dashboard", cookies=copied) as thief:
        r = await thief.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        assert (await thief.get("/payouts")).status_code == 303


async def test_a_double_submitted_form_acts_once(browser, merchant):
    await browser.sign_in(merchant.key)
    fields = await browser.form("/", "/dashboard/topups")
    for _ in range(2):  # the same rendered form sent twice: a double click, or a reload of the POST
        r = await browser.http.post("/topups", data={**fields, "amount": "100.00"})
        assert r.status_code == 303, r.text
    assert (await merchant.get("/balance")).json()["available"] == "1000100.00"
    fresh = await browser.form("/", "/dashboard/topups")  # a new rendering is a new intent
    assert (await browser.http.post("/topups", data={**fresh, "amount": "100.00"})).status_code == 303
    assert (await merchant.get("/balance")).json()["available"] == "1000200.00"


async def test_reloading_after_adding_an_endpoint_adds_no_second_one(browser, merchant):
    await browser.sign_in(merchant.key)
    fields = await browser.form("/webhooks", "/dashboard/webhooks")
    body = {**fields, "url": "http://127.0.0.1:9/hook", "events": "*", "signing": "hmac-sha256"}
    r = await browser.http.post("/webhooks", data=body)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/webhooks", r.status_code
    shown = (await browser.http.get("/webhooks")).text
    assert 'data-testid="endpoint-secret"' in shown and "whsec_" in shown
    again = (await browser.http.get("/webhooks")).text  # a reload: the secret was shown once
    assert "whsec_" not in again
    await browser.http.post("/webhooks", data=body)  # the POST itself sent again
    count = await db.fetchval("SELECT count(*) FROM webhook_endpoint WHERE merchant = $1", merchant.merchant_id)
    assert count == 1


async def test_the_dashboard_counts_against_the_merchant_rate_limit(browser, merchant, admin):
    r = await admin.http.put(f"/admin/merchants/{merchant.merchant_id}/rate-limit",
                             json={"requests_per_minute": 5}, headers={"X-Idempotency-Key": "rl-" + merchant.key[-8:]})
    assert r.status_code == 200, r.text
    await browser.sign_in(merchant.key)
    statuses = [(await browser.http.get("/payouts")).status_code for _ in range(8)]
    assert 429 in statuses, statuses
    refused = await browser.http.get("/payouts")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many requests" in refused.text


async def test_a_double_submitted_upload_makes_one_batch(browser, merchant):
    """The form key travels beside the file in a multipart body."""
    await browser.sign_in(merchant.key)
    fields = await browser.form("/batches", "/dashboard/batches")
    csv = b"amount,type,bank_code,account_number\n10.00,bank,HBL,12345678900001\n"
    places = set()
    for _ in range(2):
        r = await browser.http.post("/batches", data=fields, files={"file": ("b.csv", csv, "text/csv")})
        assert r.status_code == 303, r.text
        places.add(r.headers["location"])
    assert len(places) == 1
    assert await db.fetchval("SELECT count(*) FROM payout_batch WHERE merchant = $1", merchant.merchant_id) == 1
