from tests.helpers import payout_body


async def test_create_and_get_payout(merchant):
    r = await merchant.post("/payouts", payout_body())
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "pending"
    assert p["scenario"] == "success"
    assert p["amount"] == "1500.00"
    r = await merchant.get(f"/payouts/{p['id']}")
    assert r.status_code == 200
    b = (await merchant.get("/balance")).json()
    assert b == {"currency": "PKR", "available": "998500.00", "locked": "1500.00", "pending": "0.00",
                 "total": "1000000.00"}
