from piccolo.columns import BigInt, BigSerial, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.constraints import Check
from piccolo.table import Table

from sandbox.ledger.tables import LedgerTransaction
from sandbox.merchants.tables import Merchant


class Settlement(Table, tablename="settlement"):
    """One settlement run for one merchant: the collections it settled or dropped."""

    id = Varchar(length=40, primary_key=True)
    number = BigSerial()
    merchant = ForeignKey(Merchant, index=True, null=False)
    settled_count = Integer(default=0)
    settled_amount = BigInt(default=0)
    declined_count = Integer(default=0)
    declined_amount = BigInt(default=0)
    created_at = Timestamptz()


class Collection(Table, tablename="collection"):
    """Incoming funds (sandbox): `pending` until a settlement run makes them `settled`
    (approve: pending → available) or `declined` (decline: dropped from pending)."""

    id = Varchar(length=40, primary_key=True)
    number = BigSerial()
    merchant = ForeignKey(Merchant, null=False)
    amount = BigInt()
    outcome = Varchar(length=10)  # approve | decline
    status = Varchar(length=10)  # pending | settled | declined
    reference = Varchar(length=64, null=True, default=None)
    description = Varchar(length=500, null=True, default=None)
    created_transaction = ForeignKey(LedgerTransaction, null=False)
    settlement = ForeignKey(Settlement, null=True, default=None, index=True)
    settled_transaction = ForeignKey(LedgerTransaction, null=True, default=None)
    created_at = Timestamptz()
    settled_at = Timestamptz(null=True, default=None)

    amount_positive = Check("amount > 0")
