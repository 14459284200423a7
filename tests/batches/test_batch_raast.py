"""A CSV batch pays Raast aliases through its `alias` column, with the same rules as
POST /payouts: the scenario follows the alias' last four digits."""

from __future__ import annotations

from tests.batches.helpers import items, upload_csv, wait_completed


async def test_csv_rows_pay_raast_aliases(merchant, worker):
    csv = ("reference,amount,type,alias,account_title\n"
           "r1,10.00,raast,03001230001,Ali Raza\n"
           "r2,11.00,raast,03001230003,\n"
           "r3,12.00,raast,0300123,\n")
    r = await upload_csv(merchant, csv)
    assert r.status_code == 202, r.text
    batch = await wait_completed(merchant, r.json()["id"])
    rows = {i["line"]: i for i in await items(merchant, batch["id"])}
    assert "alias" in rows[4]["reason"] and rows[4]["status"] == "invalid"
    first = (await merchant.get(f"/payouts/{rows[2]['payout_id']}")).json()
    second = (await merchant.get(f"/payouts/{rows[3]['payout_id']}")).json()
    assert first["destination"]["type"] == "raast" and first["destination"]["alias"] == "03001230001"
    assert first["scenario"] == "success" and second["scenario"] == "failed_account_closed"
