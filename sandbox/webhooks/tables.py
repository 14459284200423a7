from piccolo.columns import JSONB, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from sandbox.merchants.tables import Merchant


class OutboxEvent(Table, tablename="outbox_event"):
    """An event written in the same transaction as the change it describes; the worker
    relays it to webhook endpoints."""

    id = Varchar(length=40, primary_key=True)
    merchant = ForeignKey(Merchant, index=True, null=False)
    type = Varchar(length=60)
    payout_id = Varchar(length=40, null=True, default=None, index=True)
    data = JSONB()
    created_at = Timestamptz()
    relayed_at = Timestamptz(null=True, default=None)
