from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.constraints import Unique
from piccolo.table import Table

from sandbox.merchants.tables import Merchant


class PayoutBatch(Table, tablename="payout_batch"):
    """An uploaded CSV or JSON list of payouts, created by the worker in chunks."""

    id = Varchar(length=40, primary_key=True)
    # Insertion order, for cursor pagination.
    number = BigSerial()
    merchant = ForeignKey(Merchant, index=True, null=False)
    status = Varchar(length=30)  # processing | completed | completed_with_errors
    source = Varchar(length=10)  # csv | json
    filename = Varchar(length=255, null=True, default=None)
    total_items = Integer(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)


class PayoutBatchItem(Table, tablename="payout_batch_item"):
    """One row of a batch: `queued` until the worker creates its payout (`created`, then
    it shows the payout's status), or `invalid` / `refused` with a reason."""

    id = BigSerial(primary_key=True)
    batch = ForeignKey(PayoutBatch, null=False)
    line = Integer()
    status = Varchar(length=20)
    reason = Text(null=True, default=None)
    reference = Varchar(length=64, null=True, default=None)
    amount = BigInt(null=True, default=None)
    # The payout request the row describes (null when the row could not be read as one).
    payload = JSONB(null=True, default=None)
    payout_id = Varchar(length=40, null=True, default=None)
    # Retry of a failed payout: requested → done | refused | skipped; each item at most once.
    retry = Varchar(length=20, null=True, default=None)
    retry_reason = Text(null=True, default=None)

    batch_line = Unique(["batch", "line"])
