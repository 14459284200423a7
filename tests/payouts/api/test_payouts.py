"""The payouts routes as a client uses them."""

import asyncio

from sandbox.payouts.model.destinations import iban_check_digits
from tests.helpers import payout_body


def valid_iban(bank: str = "SCBL", account: str = "0000001123450001") -> str:
    return f"PK{iban_check_digits('PK', bank + account)}{bank}{account}"


async def test_payout_shape(merchant):
    r = await merchant.post("/payouts", payout_body(reference="order-42", description="June commission",
                                                    metadata={"k": "v"}))
    assert r.status_code == 201
    p = r.json()
    assert p["id"].startswith("po_")
    assert p["amount"] == "1500.00" and p["currency"] == "PKR"
    assert p["destination"] == {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001",
                                "account_title": "Ali Raza"}
    assert p["reference"] == "order-42" and p["description"] == "June commission" and p["metadata"] == {"k": "v"}
    assert p["attempts"] == 0 and p["failure_code"] is None and p["psp_reference"] is None
    assert [h["status"] for h in p["status_history"]] == ["pending"]
    assert p["created_at"].endswith("Z")
    assert (await merchant.get(f"/payouts/{p['id']}")).json() == p


async def test_iban_destination(merchant):
    iban = valid_iban()
    spaced = " ".join(iban[i:i + 4] for i in range(0, 24, 4)).lower()
    r = await merchant.post("/payouts", {"amount": "10.00", "destination": {"type": "bank", "iban": spaced}})
    assert r.status_code == 201, r.text
    dest = r.json()["destination"]
    assert dest == {"type": "bank", "bank_code": "SCB", "iban": iban}
    assert r.json()["scenario"] == "success"


async def test_iban_of_unknown_bank(merchant):
    iban = valid_iban(bank="ZZZZ")
    r = await merchant.post("/payouts", {"amount": "10.00", "destination": {"type": "bank", "iban": iban}})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "destination.iban"


async def test_wallet_destination_and_scenarios(merchant):
    r = await merchant.post("/payouts", {"amount": "10.00", "destination": {
        "type": "wallet", "wallet_code": "EASYPAISA", "account_number": "03001230003"}})
    assert r.status_code == 201, r.text
    assert r.json()["scenario"] == "failed_account_closed"
    for suffix, name in [("0001", "success"), ("0002", "retry_then_success"), ("0004", "awaiting_ipn"),
                         ("0005", "on_hold"), ("9999", "success")]:
        p = (await merchant.post("/payouts", payout_body(amount="1.00", account="1234567890" + suffix))).json()
        assert p["scenario"] == name


async def test_review_threshold(merchant):
    big = (await merchant.post("/payouts", payout_body(amount="100000.00"))).json()
    assert big["status"] == "in_review"
    small = (await merchant.post("/payouts", payout_body(amount="99999.99"))).json()
    assert small["status"] == "pending"


async def test_duplicate_reference(merchant, other_merchant):
    assert (await merchant.post("/payouts", payout_body(reference="inv-1"))).status_code == 201
    r = await merchant.post("/payouts", payout_body(reference="inv-1"))
    assert r.status_code == 409 and r.json()["code"] == "duplicate_reference"
    # Unique per merchant only.
    assert (await other_merchant.post("/payouts", payout_body(reference="inv-1"))).status_code == 201
    assert (await merchant.get("/balance")).json()["locked"] == "1500.00"


async def test_list_filters_and_cursor(merchant):
    ids = []
    for i in range(5):
        ids.append((await merchant.post("/payouts", payout_body(amount=f"{i + 1}.00", reference=f"r{i}"))).json()["id"])
    await merchant.post("/payouts", payout_body(amount="100000.00"))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "status": "pending"} | ({"cursor": cursor} if cursor else {})
        page = (await merchant.get("/payouts", params=params)).json()
        seen += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))
    by_ref = (await merchant.get("/payouts", params={"reference": "r3"})).json()["data"]
    assert [p["id"] for p in by_ref] == [ids[3]]
    assert len((await merchant.get("/payouts", params={"status": "in_review"})).json()["data"]) == 1
    first = (await merchant.get(f"/payouts/{ids[0]}")).json()["created_at"]
    later = (await merchant.get("/payouts", params={"created_gte": first, "status": "pending"})).json()["data"]
    assert {p["id"] for p in later} == set(ids)
    before = (await merchant.get("/payouts", params={"created_lte": "2000-01-01T00:00:00Z"})).json()["data"]
    assert before == []


async def test_cancel_releases_funds(merchant):
    p = (await merchant.post("/payouts", payout_body(amount="500.00"))).json()
    r = await merchant.post(f"/payouts/{p['id']}/cancel", {"reason": "customer asked"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["status"] == "cancelled"
    assert [(h["status"], h["reason"]) for h in c["status_history"]] == [("pending", "created"),
                                                                          ("cancelled", "customer asked")]
    b = (await merchant.get("/balance")).json()
    assert b["available"] == "1000000.00" and b["locked"] == "0.00"
    again = await merchant.post(f"/payouts/{p['id']}/cancel", {})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


async def test_cancel_in_review_without_body(merchant):
    p = (await merchant.post("/payouts", payout_body(amount="150000.00"))).json()
    r = await merchant.post(f"/payouts/{p['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_concurrent_cancels_release_once(merchant):
    p = (await merchant.post("/payouts", payout_body(amount="700.00"))).json()
    rs = await asyncio.gather(*[merchant.post(f"/payouts/{p['id']}/cancel", {}) for _ in range(10)])
    assert sorted(r.status_code for r in rs) == [200] + [409] * 9
    assert (await merchant.get("/balance")).json()["available"] == "1000000.00"


async def test_missing_payout(merchant):
    r = await merchant.get("/payouts/po_doesnotexist")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await merchant.post("/payouts/po_doesnotexist/cancel", {})
    assert r.status_code == 404
