from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.constraints import Check
from piccolo.table import Table

from sandbox.merchants.tables import Merchant


class Payout(Table, tablename="payout"):
    id = Varchar(length=40, primary_key=True)
    # Insertion order, for cursor pagination.
    number = BigSerial()
    merchant = ForeignKey(Merchant, null=False)
    amount = BigInt()
    currency = Varchar(length=3)
    status = Varchar(length=20)
    scenario = Varchar(length=40)
    destination = JSONB()
    reference = Varchar(length=64, null=True, default=None)
    description = Text(null=True, default=None)
    metadata = JSONB(null=True, default=None)
    attempts = Integer(default=0)
    failure_code = Varchar(length=40, null=True, default=None)
    # Unique where set (`payout_psp_reference`, made by migration 2026-11-28T20:00 in place of
    # a UNIQUE constraint that also held every payout not yet submitted, as NULL).
    psp_reference = Varchar(length=40, null=True, default=None)
    status_history = JSONB(default="[]")
    # Where the payout is in its scenario: which list of steps ("main", or
    # "after_release" once an admin releases a hold) and the index of the next step.
    track = Varchar(length=16, default="main")
    step_index = Integer(default=0)
    # When the worker should apply the next step (NULL: nobody waits on it).
    next_action_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # The merchant's own scenario the payout follows (scenarios.Script; NULL: a built-in one).
    script = JSONB(null=True, default=None)

    amount_positive = Check("amount > 0")
