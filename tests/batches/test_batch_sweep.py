"""The payout sweeper and a batch being processed: the payouts created while a merchant's
batch is processing are its job's to step (step jobs from the sweeper would queue on the
merchant's balance row in front of the batch's chunks); once the batch is completed,
whatever is still due is overdue as usual. Payouts created before the batch, and other
merchants' payouts, are swept as always."""

from datetime import datetime, timedelta

from sandbox.batches import processing
from sandbox.ledger.service import check_invariant
from sandbox.payouts import repository
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
    assert before["id"] in overdue and elsewhere["id"] in overdue and during["id"] not in overdue

    assert await processing.process(batch_id) == 3  # what the batch job does: create, complete, step
    batch = (await merchant.get(f"/payout-batches/{batch_id}")).json()
    assert batch["status"] == "completed"
    created = [item["payout_id"] for item in await items(merchant, batch_id)]
    statuses = {(await merchant.get(f"/payouts/{i}")).json()["status"] for i in created}
    assert statuses == {"success"}  # time scale 0: stepped by the batch job to the end of the scenario
    assert during["id"] in await _overdue()  # no batch processing any more: swept as usual
    assert await check_invariant(merchant.merchant_id) == []
