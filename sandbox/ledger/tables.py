from piccolo.columns import BigInt, BigSerial, ForeignKey, Timestamptz, Varchar
from piccolo.constraints import Check
from piccolo.table import Table

from sandbox.merchants.tables import Merchant


class Balance(Table, tablename="balance"):
    """One row per merchant; amounts in minor units (paisa)."""

    merchant = ForeignKey(Merchant, primary_key=True, null=False)
    currency = Varchar(length=3, default="PKR")
    available = BigInt(default=0)
    locked = BigInt(default=0)
    pending = BigInt(default=0)
    # Last per-merchant ledger sequence number handed out (assigned under the row lock,
    # so the feed is gapless and in commit order).
    last_seq = BigInt(default=0)
    updated_at = Timestamptz()

    available_not_negative = Check("available >= 0")
    locked_not_negative = Check("locked >= 0")
    pending_not_negative = Check("pending >= 0")


class LedgerTransaction(Table, tablename="ledger_transaction"):
    id = BigSerial(primary_key=True)
    merchant = ForeignKey(Merchant, index=True, null=False)
    kind = Varchar(length=40)
    payout_id = Varchar(length=40, null=True, default=None, index=True)
    created_at = Timestamptz()


class LedgerEntry(Table, tablename="ledger_entry"):
    """A leg of a ledger transaction. Buckets `available`, `locked`, `pending` are the
    merchant's; `external` is the world outside (bank rail, top-ups, collections)."""

    id = BigSerial(primary_key=True)
    transaction = ForeignKey(LedgerTransaction, index=True, null=False)
    merchant = ForeignKey(Merchant, null=False)
    bucket = Varchar(length=16)
    amount = BigInt()
    # Per-merchant sequence for the merchant's own buckets; NULL on `external` legs.
    seq = BigInt(null=True, default=None)
    kind = Varchar(length=40)
    payout_id = Varchar(length=40, null=True, default=None)
    created_at = Timestamptz()

    bucket_known = Check("bucket IN ('available', 'locked', 'pending', 'external')")
