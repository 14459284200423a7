"""Hostile input a probe sent: each must get a short, clear 4xx problem and change nothing,
never a 500 or an answer that grows with the attack."""

import secrets

import httpx
import msgspec
import pytest

from sandbox import db
from sandbox.client.blocking import tls
from sandbox.rail.signing import sign
from sandbox.settlements.report import escape
from tests.helpers import RAIL_SECRET, payout_body, wait_for


async def _payout_count(merchant) -> int:
    return await db.fetchval("SELECT count(*) FROM payout WHERE merchant = $1", merchant.merchant_id)


async def test_error_echo_is_capped_whatever_the_input(merchant):
    """Thousands of long unknown CSV columns once came back in full (a 62 MB upload got
    a 125 MB answer); the answer now names a few, cut short, and counts the rest."""
    header = ",".join(f"col{i}_" + "x" * 500 for i in range(2000))
    csv = (header + "\n").encode()
    r = await merchant.http.post("/payout-batches", files={"file": ("b.csv", csv, "text/csv")},
                                 headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert len(r.content) < 4000, len(r.content)
    body = r.json()
    assert "more" in body["detail"]
    assert all(len(e["message"]) < 1000 and len(e["field"]) < 200 for e in body["errors"])


@pytest.mark.parametrize("route", ["/payouts", "/sandbox/topups", "/webhook-endpoints"])
@pytest.mark.parametrize("shape", ["list", "dict"])
async def test_deeply_nested_json_is_refused_before_anything_else(merchant, route, shape):
    depth = 1000
    raw = ("[" * depth + "]" * depth) if shape == "list" else ('{"a":' * depth + "1" + "}" * depth)
    r = await merchant.http.post(route, content=raw.encode(), headers={
        "Content-Type": "application/json", "X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"
    assert "deep" in r.json()["detail"]


async def test_moderate_nesting_still_works(merchant):
    assert (await merchant.post("/payouts", payout_body(metadata={"a": "b"}))).status_code == 201


@pytest.mark.parametrize("path", ["/payouts/%00", "/payouts/po_%00x", "/payout-batches/%00",
                                  "/events/%00/deliveries", "/settlements/%00", "/webhook-endpoints/%00"])
async def test_nul_in_a_path_id_is_not_found(merchant, path):
    r = await merchant.get(path)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "not_found"


async def test_nul_in_a_path_id_of_a_mutating_route_is_not_found(merchant):
    r = await merchant.post("/payouts/%00/cancel", {})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("query", ["/payouts?reference=%00", "/payouts?reference=a%00b", "/events?payout_id=%00",
                                   "/settlements?cursor=%00"])
async def test_nul_in_a_filter_is_a_validation_error(merchant, query):
    r = await merchant.get(query)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "validation_error"


async def _ipn(stack, body: dict):
    raw = msgspec.json.encode(body)
    async with httpx.AsyncClient(verify=tls()) as http:
        return await http.post(stack.ipn_url + "/ipn/rail", content=raw, headers={
            "Content-Type": "application/json", "X-Rail-Signature": sign(RAIL_SECRET, raw)})


@pytest.mark.parametrize("field, value", [
    ("failure_code", "x" * 41), ("failure_code", "bad\x00code"), ("failure_code", "Account Closed"),
    ("psp_reference", "R" * 41), ("psp_reference", "RAIL\x00"), ("notification_id", "n\x00"),
])
async def test_signed_ipn_with_hostile_fields_is_a_validation_error(stack, field, value):
    body = {"psp_reference": "RAIL_unknown", "notification_id": "n_" + secrets.token_hex(8),
            "status": "failed", "failure_code": "account_closed", field: value}
    r = await _ipn(stack, body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "validation_error"


@pytest.mark.parametrize("content_type, content", [
    ("text/plain", b'{"amount": "10.00"}'),
    ("application/x-www-form-urlencoded", b"amount=10.00"),
    ("text/html", b'{"amount": "10.00"}'),
])
async def test_json_routes_refuse_other_media_types(merchant, content_type, content):
    before = (await merchant.get("/balance")).json()["available"]
    r = await merchant.http.post("/sandbox/topups", content=content, headers={
        "Content-Type": content_type, "X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "unsupported_media_type"
    assert (await merchant.get("/balance")).json()["available"] == before


async def test_json_routes_still_take_json_with_a_charset(merchant):
    r = await merchant.http.post("/sandbox/topups", content=b'{"amount": "10.00"}', headers={
        "Content-Type": "application/json; charset=utf-8", "X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 201, r.text


async def test_a_revoked_key_is_told_not_valid_like_an_unknown_one(merchant):
    await db.execute("UPDATE api_key SET revoked_at = now() WHERE merchant = $1", merchant.merchant_id)
    from sandbox.auth.cache import CACHE

    CACHE.forget_all()
    r = await merchant.get("/balance")
    assert r.status_code == 401
    unknown = await merchant.http.get("/balance", headers={"X-API-KEY": "sk_test_" + "z" * 32})
    assert r.json()["detail"] == unknown.json()["detail"]
    assert "revoked" not in r.text


@pytest.mark.parametrize("cell", [" =1+1", "\u00a0=HYPERLINK(\"x\")", "  @SUM(A1)", "\t=1", " +1+2", "\u3000-1+1"])
def test_csv_formula_guard_sees_through_leading_whitespace(cell):
    assert escape(cell).startswith("'")


@pytest.mark.parametrize("cell", ["-100.00", "plain", " plain", "a=b"])
def test_csv_formula_guard_leaves_plain_cells(cell):
    assert escape(cell) == cell


def test_an_error_keeps_a_bounded_size_whatever_it_quotes():
    from sandbox.core.errors import FieldError, ValidationFailed

    err = ValidationFailed("x" * 5000, errors=[FieldError(field="f" * 500, message="m" * 5000) for _ in range(1000)])
    assert len(err.detail) < 1100 and "4000 more characters" in err.detail
    assert len(err.errors) == 21 and err.errors[-1].message == "and 980 more errors"
    assert all(len(e.field) < 150 and len(e.message) < 350 for e in err.errors)


# One route of every family that takes a JSON body, with who may call it. Ids in paths
# need not exist: the body is judged first.
_JSON_ROUTES = [
    ("merchant", "POST", "/sandbox/topups"),
    ("merchant", "POST", "/payouts"),
    ("merchant", "POST", "/payouts/po_none/cancel"),
    ("merchant", "POST", "/payouts/po_none/reinitiate"),
    ("merchant", "POST", "/payout-batches"),
    ("merchant", "POST", "/verify-account"),
    ("merchant", "POST", "/sandbox/gate"),
    ("merchant", "POST", "/sandbox/collections"),
    ("merchant", "POST", "/sandbox/clock/advance"),
    ("merchant", "POST", "/sandbox/payouts/po_none/simulate"),
    ("merchant", "POST", "/webhook-endpoints"),
    ("merchant", "PATCH", "/webhook-endpoints/we_none"),
    ("merchant", "POST", "/events/ev_none/resend"),
    ("admin", "POST", "/sandbox/merchants"),
    ("admin", "PUT", "/admin/merchants/m_none/rate-limit"),
    ("admin", "POST", "/admin/payouts/po_none/approve"),
]


@pytest.mark.parametrize("who, method, path", _JSON_ROUTES)
async def test_invalid_utf8_in_json_is_malformed_json_and_keeps_the_key(merchant, admin, who, method, path):
    """Bytes that are not UTF-8 inside a JSON string once reached the idempotency
    fingerprint's decoder and answered 500; JSON is UTF-8, so they are malformed JSON."""
    api = merchant if who == "merchant" else admin
    # A stray byte, one inside a key, an encoded surrogate, a sequence cut off at the end.
    for raw in (b'{"amount":"1\xff"}', b'{"am\xc3ount":"1"}', b'{"name":"\xed\xa0\x80"}', b'{"a":1}\xe2\x82'):
        key = secrets.token_hex(8)
        r = await api.http.request(method, path, content=raw, headers={
            "Content-Type": "application/json", "X-Idempotency-Key": key})
        assert r.status_code == 400, (raw, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "malformed_json"
        assert await db.fetchval("SELECT count(*) FROM idempotency_key WHERE key = $1", key) == 0


async def test_a_key_refused_for_invalid_utf8_works_with_the_fixed_body(merchant):
    before = (await merchant.get("/balance")).json()["available"]
    key = secrets.token_hex(8)
    r = await merchant.http.post("/sandbox/topups", content=b'{"amount":"1\xff"}', headers={
        "Content-Type": "application/json", "X-Idempotency-Key": key})
    assert r.status_code == 400, r.text
    assert (await merchant.get("/balance")).json()["available"] == before
    assert (await merchant.post("/sandbox/topups", {"amount": "1.00"}, idem=key)).status_code == 201


async def test_invalid_utf8_deep_in_a_batch_too_large_for_memory_is_malformed_json(merchant):
    item = msgspec.json.encode(payout_body()).decode()
    items = ",".join([item] * 9000)  # over a megabyte: the body is kept on disk, not decoded whole
    raw = f'{{"items":[{items},{{"amount":"1","reference":"'.encode() + b'\xff"}]}'
    assert len(raw) > 1_100_000
    r = await merchant.http.post("/payout-batches", content=raw, headers={
        "Content-Type": "application/json", "X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"
    assert await db.fetchval("SELECT count(*) FROM payout_batch WHERE merchant = $1", merchant.merchant_id) == 0


async def test_a_signed_ipn_that_is_not_utf8_is_malformed_json(stack):
    raw = b'{"psp_reference":"RAIL_\xff","notification_id":"n_1","status":"failed"}'
    async with httpx.AsyncClient(verify=tls()) as http:
        r = await http.post(stack.ipn_url + "/ipn/rail", content=raw, headers={
            "Content-Type": "application/json", "X-Rail-Signature": sign(RAIL_SECRET, raw)})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"


# --- one body, one reading: a key twice, numbers and text JSON cannot carry ---------------

TWICE = "appears more than once in the same object: send each key once"


def _payout_raw(reference: str, *, twice: str = '"amount": "1.00", "amount": "2.00"',
                destination: str = '"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", '
                                   '"account_title": "Ali Raza"') -> bytes:
    return (f'{{{twice}, "currency": "PKR", "reference": "{reference}", '
            f'"destination": {{{destination}}}}}').encode()


async def _raw_post(api, path: str, raw: bytes, method: str = "POST") -> httpx.Response:
    return await api.http.request(method, path, content=raw, headers={
        "Content-Type": "application/json", "X-Idempotency-Key": secrets.token_hex(8)})


@pytest.mark.parametrize("raw, field", [
    (_payout_raw("dup-amount"), "amount"),
    # The same key spelled two ways is the same key.
    (_payout_raw("dup-escaped", twice='"amount": "1.00", "\\u0061mount": "2.00"'), "amount"),
    (_payout_raw("dup-nested", twice='"amount": "1.00"',
                 destination='"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", '
                             '"account_number": "12345678900002", "account_title": "Ali Raza"'),
     "destination.account_number"),
], ids=["amount", "escaped", "nested"])
async def test_a_key_twice_in_a_payout_is_refused_and_moves_no_money(merchant, raw, field):
    """`{"amount": "1.00", "amount": "2.00"}` made a 2.00 payout: the decoder kept the
    last value, where a proxy or a log reading the first saw 1.00."""
    before = (await merchant.get("/balance")).json()
    r = await _raw_post(merchant, "/payouts", raw)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "validation_error"
    (error,) = problem["errors"]
    assert error == {"field": field, "message": TWICE}
    assert await _payout_count(merchant) == 0
    assert (await merchant.get("/balance")).json() == before


async def test_keys_repeated_in_different_objects_are_not_twice(merchant):
    """A key may appear in several objects, and a colon inside a string is no key."""
    body = payout_body(reference="ref:with:colons", metadata={"type": "bank", "at": "10:30"})
    r = await merchant.post("/payouts", body)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("who, method, path", _JSON_ROUTES)
async def test_a_key_twice_is_refused_on_every_json_route(merchant, admin, who, method, path):
    api = merchant if who == "merchant" else admin
    r = await _raw_post(api, path, b'{"twice": 1, "twice": 2}', method)
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [{"field": "twice", "message": TWICE}], r.text


async def test_a_key_twice_in_a_signed_ipn_is_refused(stack, merchant, worker):
    """The IPN reads its body as the API does: a status sent twice is no status."""
    created = (await merchant.post("/payouts", payout_body(amount="100.00", account="12345678900004"))).json()

    async def submitted():
        row = (await merchant.get(f"/payouts/{created['id']}")).json()
        return row if row["psp_reference"] else None

    payout = await wait_for(submitted, what="submission to the rail")
    raw = (f'{{"psp_reference": "{payout["psp_reference"]}", "notification_id": "n_{secrets.token_hex(6)}", '
           f'"status": "failed", "status": "success"}}').encode()
    async with httpx.AsyncClient(verify=tls()) as http:
        r = await http.post(stack.ipn_url + "/ipn/rail", content=raw, headers={
            "Content-Type": "application/json", "X-Rail-Signature": sign(RAIL_SECRET, raw)})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == [{"field": "status", "message": TWICE}]
    assert (await merchant.get(f"/payouts/{payout['id']}")).json()["status"] == payout["status"]


@pytest.mark.parametrize("raw, field", [
    (b'{"amount": 1e999}', "amount"),
    (b'{"amount": "1.00", "metadata": {"a": [1, -1e400]}}', "metadata.a[1]"),
])
async def test_a_number_out_of_range_names_its_field(merchant, raw, field):
    r = await _raw_post(merchant, "/sandbox/topups", raw)
    assert r.status_code == 400, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == field and "too large" in error["message"], error
    assert "[...]" not in r.text


@pytest.mark.parametrize("raw, field", [
    (b'{"amount": "\\ud800"}', "amount"),  # a high surrogate without its low one
    (b'{"amount": "1.00", "metadata": {"k": "x\\udc00"}}', "metadata.k"),  # a low one alone
    (b'{"\\ud800": "1.00"}', "\\ud800"),  # in a key: named escaped
])
async def test_a_lone_surrogate_is_named_in_words(merchant, raw, field):
    """A lone surrogate escape once answered "Input data was truncated"."""
    before = (await merchant.get("/balance")).json()["available"]
    r = await _raw_post(merchant, "/sandbox/topups", raw)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "malformed_json"
    (error,) = problem["errors"]
    assert error["field"] == field and "surrogate" in error["message"], error
    assert "truncated" not in r.text
    assert (await merchant.get("/balance")).json()["available"] == before


# --- query parameters: only those the route declares ----------------------------------

async def test_an_unknown_query_parameter_is_refused_naming_it(merchant):
    """`?starting_after=` (a cursor of another API) answered the first page again, and a
    client paging with it looped forever."""
    r = await merchant.get("/sandbox/requests", params={"starting_after": "req_x", "limit": 1})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "validation_error"
    (error,) = problem["errors"]
    assert error["field"] == "starting_after" and "cursor" in error["message"], error
    assert (await merchant.get("/sandbox/requests", params={"limit": 1, "cursor": None})).status_code == 200


async def test_an_unknown_query_parameter_on_a_post_changes_nothing(merchant):
    key = secrets.token_hex(8)
    r = await merchant.post("/payouts?dry_run=true", payout_body(), idem=key)
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["dry_run"]
    assert await _payout_count(merchant) == 0
    # The key stays free: the request, fixed, goes through with it.
    assert (await merchant.post("/payouts", payout_body(), idem=key)).status_code == 201


@pytest.mark.parametrize("path", ["/health?verbose=1", "/payouts/po_none?expand=destination",
                                  "/balance?currency=PKR", "/webhook-endpoints?format=junit"])
async def test_every_api_route_is_strict(merchant, path):
    r = await merchant.get(path)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == path.split("?")[1].split("=")[0]


async def test_the_ipn_refuses_query_parameters(stack):
    raw = b'{"psp_reference": "RAIL_unknown", "notification_id": "n_1", "status": "failed"}'
    async with httpx.AsyncClient(verify=tls()) as http:
        r = await http.post(stack.ipn_url + "/ipn/rail?replay=1", content=raw, headers={
            "Content-Type": "application/json", "X-Rail-Signature": sign(RAIL_SECRET, raw)})
        health = await http.get(stack.ipn_url + "/health?x=1")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "replay", r.text
    assert health.status_code == 400, health.text


async def test_the_dashboard_pages_stay_lenient(stack):
    """HTML pages for a browser, outside the spec: a link may carry a name they do not read."""
    async with httpx.AsyncClient(verify=tls()) as http:
        r = await http.get(stack.base_url + "/dashboard/login?utm_source=mail")
    assert r.status_code == 200, r.text
