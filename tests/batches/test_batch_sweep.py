"""The payout sweeper and a batch being processed: a processing batch's payouts are its
job's to step (step jobs from the sweeper would queue on the merchant's balance row in
front of the batch's chunks); once the batch is completed, whatever is still due is
overdue as usual. Every other payout, the same merchant's single POSTs made while the
batch processes included, is swept as always."""

from datetime import datetime, timedelta

from sandbox.batches import processing
from sandbox.ledger.service import check_invariant
from sandbox.payouts.store import repository
from tests.batches.helpers import HEADER, items, upload_csv
from tests.helpers import payout_body


async def _overdue() -> set[str]:
    later = datetime.now().astimezone() + timedelta(hours=1)
    return {payout_id for payout_id, _, _ in await repository.overdue(later, 100_000)}


async def test_the_sweeper_leaves_a_processing_batchs_payouts_to_its_job(merchant, other_merchant, database):
    before = (await merchant.post("/payouts", json=payout_body())).json()
    r = await upload_csv(merchant, HEADER + "".join(f"s{n},10.00,bank,HBL,,,12345678900001,,sweep\n"
                                                    for n in range(3)))
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]  # no worker in this test: the batch stays processing until it is run below
    during = (await merchant.post("/payouts", json=payout_body())).json()
    elsewhere = (await other_merchant.post("/payouts", json=payout_body())).json()
    overdue = await _overdue()
    assert {before["id"], during["id"], elsewhere["id"]} <= overdue

    # The batch's first chunk is written; the batch is still processing.
    assert await processing._create_chunk(batch_id, 2) == 2
    first_chunk = {item["payout_id"] for item in await items(merchant, batch_id) if item["payout_id"]}
    assert len(first_chunk) == 2
    overdue = await _overdue()
    assert not first_chunk & overdue, "the sweeper took payouts of a batch still processing"
    assert {before["id"], during["id"], elsewhere["id"]} <= overdue
    later = (await merchant.post("/payouts", json=payout_body())).json()
    assert later["id"] in await _overdue()

    assert await processing.process(batch_id) == 1  # what the batch job does: create the rest, complete, step
    batch = (await merchant.get(f"/payout-batches/{batch_id}")).json()
    assert batch["status"] == "completed"
    created = {item["payout_id"] for item in await items(merchant, batch_id)}
    (last,) = created - first_chunk
    # Time scale 0: what this run of the job created, it stepped to the end of the scenario.
    assert (await merchant.get(f"/payouts/{last}")).json()["status"] == "success"
    # What an earlier run created (a job lost mid-batch) is overdue now, swept as usual.
    assert first_chunk <= await _overdue()
    assert await check_invariant(merchant.merchant_id) == []
