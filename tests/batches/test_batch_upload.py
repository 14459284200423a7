"""POST /payout-batches: CSV and JSON, rows checked one by one, invalid rows reported
with line and reason, the rest created by the worker; bad uploads change nothing."""

import json
import secrets

from sandbox import db
from sandbox.ledger.service import check_invariant
from tests.batches.helpers import HEADER, completed_events, items, upload_csv, wait_completed

GOOD = [
    "r1,10.00,bank,HBL,,,12345678900001,Ali Raza,ok\n",
    'r2,20.00,wallet,,EASYPAISA,,03001230003,"Raza, Ali","quoted, comma"\n',
    "r3,30.00,bank,,,PK36SCBL0000001123456702,,,iban\n",
]
BAD = [
    'b0,1.00,bank,HBL,,,12345678900001,,"two\nlines"\n',  # lines 5-6: control character in description
    "b1,1.001,bank,HBL,,,12345678900001,,too many decimals\n",  # line 7
    "b2,5.00,bank,NOPE,,,12345678900001,,unknown bank\n",  # line 8
    "b3,5.00,bank,HBL\n",  # line 9: too few fields
    "r1,7.00,bank,HBL,,,12345678900001,,reference used above\n",  # line 10: refused by the worker
    "b5,99999999.99,bank,HBL,,,12345678900001,,more than the balance\n",  # line 11: refused
]


async def test_csv_batch_end_to_end(merchant, worker, database):
    r = await upload_csv(merchant, HEADER + "".join(GOOD) + "".join(BAD))
    assert r.status_code == 202, r.text
    batch = r.json()
    assert batch["object"] == "payout_batch" and batch["id"].startswith("pb_") and batch["source"] == "csv"
    assert batch["total_items"] == 9 and batch["filename"] == "batch.csv"
    assert batch["counts"]["invalid"] == 4  # found at once, before the worker
    done = await wait_completed(merchant, batch["id"])
    assert done["status"] == "completed_with_errors" and done["completed_at"]
    counts = done["counts"]
    assert counts["invalid"] == 4 and counts["refused"] == 2 and counts["queued"] == 0
    assert sum(counts.values()) == 9

    invalid = await items(merchant, batch["id"], status="invalid")
    assert [(i["line"], i["status"]) for i in invalid] == [(5, "invalid"), (7, "invalid"), (8, "invalid"),
                                                           (9, "invalid")]
    assert invalid[0]["reason"].startswith("description:") and invalid[1]["reason"].startswith("amount:")
    assert "bank_code" in invalid[2]["reason"] and invalid[3]["reason"] == "expected 9 fields, found 4"
    # A row that decoded but was refused (unknown bank) keeps its reference and amount; one that did not, none.
    assert [(i["reference"], i["amount"]) for i in invalid] == [(None, None), (None, None), ("b2", "5.00"),
                                                                (None, None)]
    refused = await items(merchant, batch["id"], status="refused")
    assert [i["line"] for i in refused] == [10, 11]
    assert refused[0]["reason"].startswith("duplicate_reference") and refused[1]["reason"].startswith(
        "insufficient_funds")
    everything = await items(merchant, batch["id"])
    assert [i["line"] for i in everything] == [2, 3, 4, 5, 7, 8, 9, 10, 11]  # line 5 holds a quoted newline
    created = [i for i in everything if i["payout_id"]]
    assert [(i["reference"], i["amount"]) for i in created] == [("r1", "10.00"), ("r2", "20.00"), ("r3", "30.00")]
    payout = (await merchant.get(f"/payouts/{created[1]['payout_id']}")).json()
    assert payout["destination"]["account_title"] == "Raza, Ali" and payout["description"] == "quoted, comma"
    assert len(await completed_events(merchant.merchant_id)) == 1
    assert await check_invariant(merchant.merchant_id) == []


async def test_json_batch(merchant, worker):
    good = {"amount": "12.50", "destination": {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"}}
    bad = {"amount": 12, "destination": {"type": "bank"}}
    r = await merchant.post("/payout-batches", {"items": [good, bad, {**good, "reference": "j-3"}]})
    assert r.status_code == 202, r.text
    done = await wait_completed(merchant, r.json()["id"])
    assert done["source"] == "json" and done["counts"]["invalid"] == 1 and done["total_items"] == 3
    invalid = await items(merchant, done["id"], status="invalid")
    assert invalid[0]["line"] == 2 and invalid[0]["reason"].startswith("amount:")


async def test_hostile_field_names_become_readable_reasons(merchant):
    """A JSON item with an unknown field whose name holds NUL and control characters is an
    invalid item with a storable reason, not a 500 (PostgreSQL refuses NUL in text)."""
    hostile = '{"items": [{"amount": "1.00", "destination": {"type": "bank"}, "a\\u0000b\\u001fc": 1}]}'
    r = await merchant.http.post("/payout-batches", content=hostile.encode(),
                                 headers={"content-type": "application/json", "X-Idempotency-Key": "hostile-1"})
    assert r.status_code == 202, r.text
    (item,) = await items(merchant, r.json()["id"])
    assert item["status"] == "invalid" and item["reason"] == "item: Object contains unknown field `a?b?c`"


async def test_runs_of_blank_lines_lose_no_row(merchant):
    """Blank lines are skipped wherever they are, however many: a run longer than the
    reader's chunk is no end of file (it once kept 1 row of 6, and read 2,000 blank lines
    before the header as an empty file)."""
    rows = [f"k{i},1.00,bank,HBL,,,12345678900001,,row {i}\n" for i in range(6)]
    cases = [
        (HEADER + rows[0] + "\n" * 3998 + "".join(rows[1:]), [2] + list(range(4001, 4006))),
        ("\r\n" * 2000 + HEADER + "".join(rows), list(range(2002, 2008))),
        (HEADER + "\n" * 5000, None),  # only blank lines after the header: no rows, said so
    ]
    for text, lines in cases:
        r = await upload_csv(merchant, text)
        if lines is None:
            assert r.status_code == 400 and "no rows" in r.json()["detail"], r.text
            continue
        assert r.status_code == 202, r.text
        batch = r.json()
        assert batch["total_items"] == 6 and batch["counts"]["invalid"] == 0, batch
        got = await items(merchant, batch["id"])
        assert [i["line"] for i in got] == lines
        assert [i["reference"] for i in got] == [f"k{i}" for i in range(6)]


async def test_bad_uploads_change_nothing(merchant, other_merchant):
    cases = [
        ("", 400),  # empty file
        ("amount,type,colour\n1.00,bank,red\n", 400),  # unknown column
        ("reference,type\nx,bank\n", 400),  # no amount column
        (HEADER, 400),  # a header and no rows
        (HEADER.encode() + "r,1.00,bank,HBL,,,12345678900001,,caf\xe9\n".encode("latin-1"), 400),  # not UTF-8
        ('amount,type\n"1.00,bank\n', 400),  # a quote that never closes
    ]
    for text, status in cases:
        r = await upload_csv(merchant, text)
        assert r.status_code == status, (text, r.text)
        assert r.json()["code"] == "validation_error"
    for body in ({}, {"items": []}, {"items": [1]}, {"items": "x"}, {"items": [{}], "extra": 1}):
        r = await merchant.post("/payout-batches", body)
        assert r.status_code == 400, (body, r.text)
    r = await merchant.http.post("/payout-batches", content=b"a,b", headers={
        "X-Idempotency-Key": secrets.token_hex(8), "Content-Type": "text/csv"})
    assert r.status_code == 415
    r = await merchant.http.post("/payout-batches", files={"other": ("x.csv", b"a", "text/csv")},
                                 headers={"X-Idempotency-Key": secrets.token_hex(8)})
    assert r.status_code == 400
    assert await db.fetchval("SELECT count(*) FROM payout_batch WHERE merchant = $1", merchant.merchant_id) == 0
    assert (await merchant.get("/balance")).json()["locked"] == "0.00"
    # Another merchant's batch is as missing as one that never existed.
    r = await upload_csv(other_merchant, HEADER + GOOD[0])
    batch_id = r.json()["id"]
    assert (await merchant.get(f"/payout-batches/{batch_id}")).status_code == 404
    assert (await merchant.get(f"/payout-batches/{batch_id}/items")).status_code == 404
    assert (await merchant.post(f"/payout-batches/{batch_id}/retry", {})).status_code == 404


async def test_upload_is_idempotent(merchant):
    text = HEADER + GOOD[0]
    first = await upload_csv(merchant, text, idem="batch-key-1")
    again = await upload_csv(merchant, text, idem="batch-key-1")
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
    other = await upload_csv(merchant, HEADER + GOOD[2], idem="batch-key-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert json.loads(first.text)["total_items"] == 1
